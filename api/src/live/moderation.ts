import {
  addRestriction,
  appendModerationLog,
  banUser,
  findUserById,
  getChatSettings,
  getComment,
  isBanned,
  liftRestrictions,
  listModerationLog,
  removeChannelRole,
  saveChatSettings,
  setChannelRole,
  softDeleteComment,
  softDeleteCommentsOfUser,
  unbanUser,
  type ChannelRole,
  type Db,
  type LogEntryInput,
} from '@redred/db';
import { AppError } from '../errors.ts';
import type { ClientMessageOf, ClientMessageType } from '../protocol/client-messages.ts';
import type { ChatSettings } from '../protocol/common.ts';
import { CLOSE_CODES, LIMITS, type Role } from '../protocol/constants.ts';
import { broadcastChatSettings, chatOf, chatSettingsFor } from './chat.ts';
import { normalizeBlockedWords } from './chat-rules.ts';
import type { LiveConnection } from './connection.ts';
import type { LiveContext } from './context.ts';
import { assertCan, resolveRole, type Action } from './policy.ts';
import type { StreamRoom } from './room.ts';

type ModerationType = Extract<ClientMessageType, 'delete_comment' | 'timeout_user' | 'kick_user' | 'ban_user' | 'unban_user' | 'add_moderator' | 'remove_moderator' | 'add_vip' | 'remove_vip' | 'update_chat_settings' | 'get_moderation_log'>;

type Handler<T extends ModerationType> = (ctx: LiveContext, room: StreamRoom, conn: LiveConnection, msg: ClientMessageOf<T>) => Promise<void>;

interface Person {
  id: number;
  username: string;
}

interface Target extends Person {
  role: Role;
}

// Every action follows one shape: a cheap refusal on the socket's role, then ONE
// transaction that re-reads both roles from the database, asks the policy again,
// changes the data and writes the log entry; only after the commit are sockets
// told and the requester acked. A refusal throws inside the transaction, so it
// rolls back and the database is exactly as before.

/** The requester, if their role could ever do `action`. */
function actorFor(conn: LiveConnection, action: Action): Person {
  assertCan(conn.role, action);
  if (!conn.user) throw new AppError('forbidden', 'sign in first');
  return conn.user;
}

/** Loads the target and checks the policy on the roles stored now (a role revoked a moment ago counts). */
async function authorize(trx: Db, room: StreamRoom, actor: Person, action: Action, targetId: number): Promise<Target> {
  const user = await findUserById(trx, targetId);
  if (!user) throw new AppError('user_not_found', `no user ${targetId}`);
  const [actorRole, targetRole] = await Promise.all([resolveRole(trx, room.channelId, actor.id), resolveRole(trx, room.channelId, user.id)]);
  assertCan(actorRole, action, user.id === actor.id ? 'self' : targetRole);
  return { id: user.id, username: user.username, role: targetRole };
}

function logEntry(room: StreamRoom, actor: Person, target: Person | null, action: string, now: number, extra: { reason?: string; details?: Record<string, unknown> } = {}): LogEntryInput {
  return { channelId: room.channelId, streamId: room.streamId, actorId: actor.id, targetUserId: target?.id ?? null, action, now, ...extra };
}

const person = (p: Person): Person => ({ id: p.id, username: p.username });

function ack(conn: LiveConnection, requestId: string): void {
  conn.send({ type: 'ack', requestId });
}

/** Applies a stored role change to the target's open sockets and tells everyone. */
function announceRole(room: StreamRoom, target: Person, role: Exclude<Role, 'streamer' | 'anonymous'>): void {
  const wasStaffBefore = new Map<LiveConnection, boolean>();
  for (const c of room.connectionsOfUser(target.id)) {
    wasStaffBefore.set(c, c.role === 'moderator');
    c.role = role;
  }
  room.viewers.setRole(target.id, role);
  room.broadcast({ type: 'role_changed', user: person(target), role });
  // Gaining or losing moderation changes which chat settings the socket may see.
  for (const [c, wasStaff] of wasStaffBefore) {
    if (wasStaff !== (role === 'moderator')) c.send({ type: 'chat_settings', settings: chatSettingsFor(role, room.chatSettings) });
  }
}

function disconnect(room: StreamRoom, userId: number, code: number, reason: string): void {
  for (const c of room.connectionsOfUser(userId)) c.close(code, reason);
}

async function changeRole(ctx: LiveContext, room: StreamRoom, conn: LiveConnection, msg: { requestId: string; userId: number }, action: 'add_moderator' | 'add_vip' | 'remove_moderator' | 'remove_vip'): Promise<void> {
  const actor = actorFor(conn, action);
  const role: ChannelRole = action === 'add_moderator' || action === 'remove_moderator' ? 'moderator' : 'vip';
  const granting = action === 'add_moderator' || action === 'add_vip';
  const now = ctx.now();
  const changed = await ctx.db.transaction().execute(async (trx) => {
    const target = await authorize(trx, room, actor, action, msg.userId);
    if (granting) {
      if (target.role === role) return null;
      if (await isBanned(trx, room.channelId, target.id)) throw new AppError('invalid_target', `${target.username} is banned from this channel; unban first`);
      await setChannelRole(trx, { channelId: room.channelId, userId: target.id, role, grantedBy: actor.id, now });
    } else {
      if (target.role !== role) return null;
      await removeChannelRole(trx, room.channelId, target.id, role);
    }
    await appendModerationLog(trx, logEntry(room, actor, target, action, now, { details: { from: target.role, to: granting ? role : 'viewer' } }));
    return target;
  });
  if (changed) announceRole(room, changed, granting ? role : 'viewer');
  ack(conn, msg.requestId);
}

/** Partial settings from the wire, checked and put in stored form. */
function validSettingsPatch(patch: Partial<ChatSettings>): Partial<ChatSettings> {
  const out: Partial<ChatSettings> = {};
  if (patch.slowModeSeconds !== undefined) {
    if (!Number.isInteger(patch.slowModeSeconds) || patch.slowModeSeconds < 0 || patch.slowModeSeconds > LIMITS.slowModeMaxSeconds) {
      throw new AppError('validation_failed', `slow mode is 0 to ${LIMITS.slowModeMaxSeconds} seconds`);
    }
    out.slowModeSeconds = patch.slowModeSeconds;
  }
  if (patch.blockedWords !== undefined) out.blockedWords = normalizeBlockedWords(patch.blockedWords);
  if (patch.accountsOnly !== undefined) out.accountsOnly = patch.accountsOnly;
  return out;
}

export const moderationHandlers: { [T in ModerationType]: Handler<T> } = {
  async delete_comment(ctx, room, conn, msg) {
    const actor = actorFor(conn, 'delete_comment');
    const now = ctx.now();
    const deleted = await ctx.db.transaction().execute(async (trx) => {
      const comment = await getComment(trx, msg.commentId);
      if (!comment || comment.stream_id !== room.streamId) throw new AppError('comment_not_found', `no comment ${msg.commentId} on this stream`);
      const author = await authorize(trx, room, actor, 'delete_comment', comment.user_id);
      if (!(await softDeleteComment(trx, { commentId: comment.id, streamId: room.streamId, deletedBy: actor.id, now }))) return false;
      await appendModerationLog(trx, logEntry(room, actor, author, 'delete_comment', now, { details: { commentId: comment.id, content: comment.content } }));
      return true;
    });
    if (deleted) room.broadcast({ type: 'comment_deleted', commentIds: [msg.commentId], by: person(actor) });
    ack(conn, msg.requestId);
  },

  async timeout_user(ctx, room, conn, msg) {
    const actor = actorFor(conn, 'timeout');
    if (msg.durationSeconds < LIMITS.timeoutMinSeconds || msg.durationSeconds > LIMITS.timeoutMaxSeconds) {
      throw new AppError('validation_failed', `timeouts last ${LIMITS.timeoutMinSeconds} s to ${LIMITS.timeoutMaxSeconds} s`);
    }
    const now = ctx.now();
    const until = now + msg.durationSeconds * 1000;
    const reason = msg.reason ?? '';
    const target = await ctx.db.transaction().execute(async (trx) => {
      const target = await authorize(trx, room, actor, 'timeout', msg.userId);
      // A new timeout replaces the running one, so a shorter one can shorten it.
      await liftRestrictions(trx, room.channelId, target.id, 'timeout', now);
      await addRestriction(trx, { channelId: room.channelId, userId: target.id, kind: 'timeout', reason, createdBy: actor.id, now, expiresAt: until });
      await appendModerationLog(trx, logEntry(room, actor, target, 'timeout', now, { reason, details: { durationSeconds: msg.durationSeconds, until } }));
      return target;
    });
    chatOf(room).noteTimeout(target.id, until);
    room.broadcast({ type: 'user_timed_out', user: person(target), until, reason });
    ack(conn, msg.requestId);
  },

  async kick_user(ctx, room, conn, msg) {
    const actor = actorFor(conn, 'kick');
    const now = ctx.now();
    const blockedUntil = now + LIMITS.kickBlockSeconds * 1000;
    const reason = msg.reason ?? '';
    const target = await ctx.db.transaction().execute(async (trx) => {
      const target = await authorize(trx, room, actor, 'kick', msg.userId);
      // Stored, so admission refuses a rejoin on any socket, even after a restart.
      await addRestriction(trx, { channelId: room.channelId, userId: target.id, kind: 'kick', reason, createdBy: actor.id, now, expiresAt: blockedUntil });
      await appendModerationLog(trx, logEntry(room, actor, target, 'kick', now, { reason, details: { blockedUntil } }));
      return target;
    });
    // Everyone learns first, the kicked sockets included; then they are closed.
    room.broadcast({ type: 'user_kicked', user: person(target), reason, blockedUntil });
    disconnect(room, target.id, CLOSE_CODES.kicked, 'kicked');
    ack(conn, msg.requestId);
  },

  async ban_user(ctx, room, conn, msg) {
    const actor = actorFor(conn, 'ban');
    const now = ctx.now();
    const reason = msg.reason ?? '';
    const result = await ctx.db.transaction().execute(async (trx) => {
      const target = await authorize(trx, room, actor, 'ban', msg.userId);
      if (!(await banUser(trx, { channelId: room.channelId, userId: target.id, reason, bannedBy: actor.id, now }))) return null;
      // A banned moderator or VIP keeps no role, and what they said on this stream is hidden.
      const droppedRole = target.role === 'moderator' || target.role === 'vip' ? target.role : null;
      if (droppedRole) await removeChannelRole(trx, room.channelId, target.id, droppedRole);
      const hidden = await softDeleteCommentsOfUser(trx, { streamId: room.streamId, userId: target.id, deletedBy: actor.id, now });
      await appendModerationLog(trx, logEntry(room, actor, target, 'ban', now, { reason, details: { droppedRole, hiddenComments: hidden.length } }));
      return { target, droppedRole, hidden };
    });
    if (result) {
      const { target, droppedRole, hidden } = result;
      room.broadcast({ type: 'user_banned', user: person(target), reason });
      if (droppedRole) room.broadcast({ type: 'role_changed', user: person(target), role: 'viewer' });
      if (hidden.length > 0) room.broadcast({ type: 'comment_deleted', commentIds: hidden, by: person(actor) });
      disconnect(room, target.id, CLOSE_CODES.banned, 'banned');
    }
    ack(conn, msg.requestId);
  },

  async unban_user(ctx, room, conn, msg) {
    const actor = actorFor(conn, 'unban');
    const now = ctx.now();
    const target = await ctx.db.transaction().execute(async (trx) => {
      const target = await authorize(trx, room, actor, 'unban', msg.userId);
      if (!(await unbanUser(trx, room.channelId, target.id))) return null;
      await appendModerationLog(trx, logEntry(room, actor, target, 'unban', now));
      return target;
    });
    if (target) room.broadcast({ type: 'user_unbanned', user: person(target) });
    ack(conn, msg.requestId);
  },

  add_moderator: (ctx, room, conn, msg) => changeRole(ctx, room, conn, msg, 'add_moderator'),
  remove_moderator: (ctx, room, conn, msg) => changeRole(ctx, room, conn, msg, 'remove_moderator'),
  add_vip: (ctx, room, conn, msg) => changeRole(ctx, room, conn, msg, 'add_vip'),
  remove_vip: (ctx, room, conn, msg) => changeRole(ctx, room, conn, msg, 'remove_vip'),

  async update_chat_settings(ctx, room, conn, msg) {
    const actor = actorFor(conn, 'update_chat_settings');
    const patch = validSettingsPatch(msg.settings);
    const now = ctx.now();
    const chat = chatOf(room);
    const applied = await ctx.db.transaction().execute(async (trx) => {
      assertCan(await resolveRole(trx, room.channelId, actor.id), 'update_chat_settings');
      // Merged with what is stored, inside the transaction: two moderators changing
      // different fields at once both keep their change.
      const next: ChatSettings = { ...(await getChatSettings(trx, room.channelId)), ...patch };
      await saveChatSettings(trx, room.channelId, next, now);
      await appendModerationLog(trx, logEntry(room, actor, null, 'update_chat_settings', now, { details: { ...patch } }));
      return { next, version: ++chat.settingsVersion };
    });
    if (applied.version > chat.appliedSettingsVersion) {
      chat.appliedSettingsVersion = applied.version;
      room.chatSettings = applied.next;
      broadcastChatSettings(room);
    }
    ack(conn, msg.requestId);
  },

  async get_moderation_log(ctx, room, conn, msg) {
    actorFor(conn, 'view_moderation_log');
    const entries = await listModerationLog(ctx.db, room.channelId, { limit: msg.limit ?? 50, ...(msg.beforeId !== undefined ? { beforeId: msg.beforeId } : {}) });
    conn.send({ type: 'moderation_log', requestId: msg.requestId, entries });
  },
};
