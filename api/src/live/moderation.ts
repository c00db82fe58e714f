import {
  addRestriction,
  appendModerationLog,
  banUser,
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
  type LogEntryInput,
} from '@redred/db';
import { AppError } from '../errors.ts';
import type { ClientMessageOf, ModerationActionType } from '../protocol/client-messages.ts';
import type { ChatSettings } from '../protocol/common.ts';
import { LIMITS } from '../protocol/constants.ts';
import type { PersonRef } from './bus.ts';
import { normalizeBlockedWords } from './chat-rules.ts';
import type { LiveConnection } from './connection.ts';
import type { LiveContext } from './context.ts';
import type { Person } from './gate.ts';
import type { StreamRoom } from './room.ts';

/** The protocol's moderation actions, plus reading the log: the compiler ties this table to the protocol's list. */
type ModerationType = ModerationActionType | 'get_moderation_log';

type Handler<T extends ModerationType> = (ctx: LiveContext, room: StreamRoom, conn: LiveConnection, msg: ClientMessageOf<T>) => Promise<void>;

// Every action follows one shape: the gate's cheap refusal on the socket's role,
// then ONE transaction in which the gate re-reads both roles from the database
// and asks the policy again, the data changes and the log entry is written; only
// after the commit is the change published on the room bus and the requester
// acked. A refusal throws inside the transaction, so it rolls back and the
// database is exactly as before.

function logEntry(room: StreamRoom, actor: Person, target: Person | null, action: string, now: number, extra: { reason?: string; details?: Record<string, unknown> } = {}): LogEntryInput {
  return { channelId: room.channelId, streamId: room.streamId, actorId: actor.id, targetUserId: target?.id ?? null, action, now, ...extra };
}

const person = (p: Person): PersonRef => ({ id: p.id, username: p.username });

function ack(conn: LiveConnection, requestId: string): void {
  conn.send({ type: 'ack', requestId });
}

async function changeRole(ctx: LiveContext, room: StreamRoom, conn: LiveConnection, msg: { requestId: string; userId: number }, action: 'add_moderator' | 'add_vip' | 'remove_moderator' | 'remove_vip'): Promise<void> {
  const actor = room.gate.actor(conn, action);
  const role: ChannelRole = action === 'add_moderator' || action === 'remove_moderator' ? 'moderator' : 'vip';
  const granting = action === 'add_moderator' || action === 'add_vip';
  const now = ctx.now();
  const changed = await ctx.db.transaction().execute(async (trx) => {
    const target = await room.gate.authorize(trx, actor, action, msg.userId);
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
  if (changed) room.publish({ kind: 'role_changed', user: person(changed), role: granting ? role : 'viewer' });
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
    const actor = room.gate.actor(conn, 'delete_comment');
    const now = ctx.now();
    const deleted = await ctx.db.transaction().execute(async (trx) => {
      const comment = await getComment(trx, msg.commentId);
      if (!comment || comment.stream_id !== room.streamId) throw new AppError('comment_not_found', `no comment ${msg.commentId} on this stream`);
      const author = await room.gate.authorize(trx, actor, 'delete_comment', comment.user_id);
      if (!(await softDeleteComment(trx, { commentId: comment.id, streamId: room.streamId, deletedBy: actor.id, now }))) return false;
      await appendModerationLog(trx, logEntry(room, actor, author, 'delete_comment', now, { details: { commentId: comment.id, content: comment.content } }));
      return true;
    });
    if (deleted) room.publish({ kind: 'message', audience: { to: 'all' }, message: { type: 'comment_deleted', commentIds: [msg.commentId], by: person(actor) } });
    ack(conn, msg.requestId);
  },

  async timeout_user(ctx, room, conn, msg) {
    const actor = room.gate.actor(conn, 'timeout');
    if (msg.durationSeconds < LIMITS.timeoutMinSeconds || msg.durationSeconds > LIMITS.timeoutMaxSeconds) {
      throw new AppError('validation_failed', `timeouts last ${LIMITS.timeoutMinSeconds} s to ${LIMITS.timeoutMaxSeconds} s`);
    }
    const now = ctx.now();
    const until = now + msg.durationSeconds * 1000;
    const reason = msg.reason ?? '';
    const target = await ctx.db.transaction().execute(async (trx) => {
      const target = await room.gate.authorize(trx, actor, 'timeout', msg.userId);
      // A new timeout replaces the running one, so a shorter one can shorten it.
      await liftRestrictions(trx, room.channelId, target.id, 'timeout', now);
      await addRestriction(trx, { channelId: room.channelId, userId: target.id, kind: 'timeout', reason, createdBy: actor.id, now, expiresAt: until });
      await appendModerationLog(trx, logEntry(room, actor, target, 'timeout', now, { reason, details: { durationSeconds: msg.durationSeconds, until } }));
      return target;
    });
    room.publish({ kind: 'restricted', restriction: 'timeout', user: person(target), reason, until });
    ack(conn, msg.requestId);
  },

  async kick_user(ctx, room, conn, msg) {
    const actor = room.gate.actor(conn, 'kick');
    const now = ctx.now();
    const blockedUntil = now + LIMITS.kickBlockSeconds * 1000;
    const reason = msg.reason ?? '';
    const target = await ctx.db.transaction().execute(async (trx) => {
      const target = await room.gate.authorize(trx, actor, 'kick', msg.userId);
      // Stored, so admission refuses a rejoin on any socket, even after a restart.
      await addRestriction(trx, { channelId: room.channelId, userId: target.id, kind: 'kick', reason, createdBy: actor.id, now, expiresAt: blockedUntil });
      await appendModerationLog(trx, logEntry(room, actor, target, 'kick', now, { reason, details: { blockedUntil } }));
      return target;
    });
    room.publish({ kind: 'restricted', restriction: 'kick', user: person(target), reason, until: blockedUntil });
    ack(conn, msg.requestId);
  },

  async ban_user(ctx, room, conn, msg) {
    const actor = room.gate.actor(conn, 'ban');
    const now = ctx.now();
    const reason = msg.reason ?? '';
    const result = await ctx.db.transaction().execute(async (trx) => {
      const target = await room.gate.authorize(trx, actor, 'ban', msg.userId);
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
      if (droppedRole) room.publish({ kind: 'role_changed', user: person(target), role: 'viewer' });
      if (hidden.length > 0) room.publish({ kind: 'message', audience: { to: 'all' }, message: { type: 'comment_deleted', commentIds: hidden, by: person(actor) } });
      room.publish({ kind: 'restricted', restriction: 'ban', user: person(target), reason, until: null });
      ctx.webhooks.emit({ type: 'user.banned', data: { channel: { id: room.channelId, username: room.streamerName }, user: person(target), by: person(actor), reason, streamId: room.streamId } });
    }
    ack(conn, msg.requestId);
  },

  async unban_user(ctx, room, conn, msg) {
    const actor = room.gate.actor(conn, 'unban');
    const now = ctx.now();
    const target = await ctx.db.transaction().execute(async (trx) => {
      const target = await room.gate.authorize(trx, actor, 'unban', msg.userId);
      if (!(await unbanUser(trx, room.channelId, target.id))) return null;
      await appendModerationLog(trx, logEntry(room, actor, target, 'unban', now));
      return target;
    });
    if (target) room.publish({ kind: 'message', audience: { to: 'all' }, message: { type: 'user_unbanned', user: person(target) } });
    ack(conn, msg.requestId);
  },

  add_moderator: (ctx, room, conn, msg) => changeRole(ctx, room, conn, msg, 'add_moderator'),
  remove_moderator: (ctx, room, conn, msg) => changeRole(ctx, room, conn, msg, 'remove_moderator'),
  add_vip: (ctx, room, conn, msg) => changeRole(ctx, room, conn, msg, 'add_vip'),
  remove_vip: (ctx, room, conn, msg) => changeRole(ctx, room, conn, msg, 'remove_vip'),

  async update_chat_settings(ctx, room, conn, msg) {
    const actor = room.gate.actor(conn, 'update_chat_settings');
    const patch = validSettingsPatch(msg.settings);
    const now = ctx.now();
    const chat = room.chat;
    const applied = await ctx.db.transaction().execute(async (trx) => {
      await room.gate.authorizeOwn(trx, actor, 'update_chat_settings');
      // Merged with what is stored, inside the transaction: two moderators changing
      // different fields at once both keep their change.
      const next: ChatSettings = { ...(await getChatSettings(trx, room.channelId)), ...patch };
      await saveChatSettings(trx, room.channelId, next, now);
      await appendModerationLog(trx, logEntry(room, actor, null, 'update_chat_settings', now, { details: { ...patch } }));
      return { next, version: ++chat.settingsVersion };
    });
    if (applied.version > chat.appliedSettingsVersion) {
      chat.appliedSettingsVersion = applied.version;
      // Cluster mode: this node's gate enforces the change before the ack, not once the bus brings it back.
      if (room.cluster) room.chatSettings = applied.next;
      room.publish({ kind: 'chat_settings', settings: applied.next });
    }
    ack(conn, msg.requestId);
  },

  async get_moderation_log(ctx, room, conn, msg) {
    room.gate.actor(conn, 'view_moderation_log');
    const entries = await listModerationLog(ctx.db, room.channelId, { limit: msg.limit ?? 50, ...(msg.beforeId !== undefined ? { beforeId: msg.beforeId } : {}) });
    conn.send({ type: 'moderation_log', requestId: msg.requestId, entries });
  },
};
