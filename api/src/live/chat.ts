import { activeRestrictionUntil, findUserById, recentCommentsWithRoles } from '@redred/db';
import { AppError, isStorageUnavailable } from '../errors.ts';
import type { ClientMessageOf } from '../protocol/client-messages.ts';
import type { ChatSettings, WireComment } from '../protocol/common.ts';
import { LIMITS, type Role } from '../protocol/constants.ts';
import type { ServerMessage } from '../protocol/server-messages.ts';
import { ACCOUNTS_ONLY_MIN_AGE_MS, blockedWordsOf, ChatThrottle, cleanComment } from './chat-rules.ts';
import { CommentWriter } from './comment-writer.ts';
import type { LiveConnection } from './connection.ts';
import type { LiveContext } from './context.ts';
import { can } from './policy.ts';
import type { StreamRoom } from './room.ts';

export function toWireComment(
  c: { id: number; streamId: number; userId: number; content: string; highlighted: boolean; createdAt: number },
  username: string,
  role: Role,
): WireComment {
  return { id: c.id, streamId: c.streamId, author: { id: c.userId, username, role }, content: c.content, highlighted: c.highlighted, createdAt: c.createdAt };
}

/** What the chat gate needs to know about an author, read once and kept briefly. */
interface AuthorFacts {
  timedOutUntil: number;
  accountCreatedAt: number;
  loadedAt: number;
}

/** Cached author facts are re-read after this long, so a change made outside this process (the CLI) is seen. */
const AUTHOR_FACTS_TTL_MS = 30_000;

/**
 * The chat state of one room: pacing, cached author facts, and the sockets
 * still waiting for their history (they get live comments only after it).
 */
export class RoomChat {
  readonly throttle = new ChatThrottle();
  readonly #facts = new Map<number, AuthorFacts>();
  readonly #awaitingHistory = new Set<LiveConnection>();
  #historyQueued = false;
  /** Settings changes are numbered inside their transaction; an older one never overwrites a newer one. */
  settingsVersion = 0;
  appliedSettingsVersion = 0;

  async authorFacts(ctx: LiveContext, room: StreamRoom, userId: number, now: number): Promise<AuthorFacts> {
    const cached = this.#facts.get(userId);
    if (cached && now - cached.loadedAt < AUTHOR_FACTS_TTL_MS) return cached;
    const [until, user] = await Promise.all([activeRestrictionUntil(ctx.db, room.channelId, userId, 'timeout', now), findUserById(ctx.db, userId)]);
    const facts = { timedOutUntil: until ?? 0, accountCreatedAt: user?.created_at ?? 0, loadedAt: now };
    if (this.#facts.size > 10_000) this.#facts.clear();
    this.#facts.set(userId, facts);
    return facts;
  }

  /** A timeout was stored by this process: the gate knows without a re-read. */
  noteTimeout(userId: number, until: number): void {
    const cached = this.#facts.get(userId);
    if (cached) cached.timedOutUntil = until;
  }

  /** Broadcasts a chat message to every socket that already has its history. */
  publish(room: StreamRoom, message: ServerMessage): void {
    if (this.#awaitingHistory.size === 0) room.broadcast(message);
    else room.broadcast(message, (c) => !this.#awaitingHistory.has(c));
  }

  /**
   * Sends the last comments to a socket that just joined. The read runs between
   * two commits and the socket receives live comments only from then on, so it
   * sees each comment exactly once: in the history or live, never both or
   * neither. Joins that pile up share one query.
   */
  sendHistory(ctx: LiveContext, room: StreamRoom, conn: LiveConnection): Promise<void> {
    this.#awaitingHistory.add(conn);
    if (this.#historyQueued) return Promise.resolve();
    this.#historyQueued = true;
    return writerOf(ctx).exclusive(async () => {
      this.#historyQueued = false;
      const waiting = [...this.#awaitingHistory];
      try {
        const rows = await recentCommentsWithRoles(ctx.db, room.streamId, room.channelId, LIMITS.historyBackfill);
        const comments = rows.map((c) => toWireComment(c, c.username, c.userId === room.channelId ? 'streamer' : (c.channelRole ?? 'viewer')));
        const data = JSON.stringify({ type: 'chat_history', comments } satisfies ServerMessage);
        for (const c of waiting) c.sendRaw(data);
      } catch (err) {
        ctx.log.error({ err, streamId: room.streamId }, 'could not load chat history');
      } finally {
        for (const c of waiting) this.#awaitingHistory.delete(c);
      }
    });
  }
}

const roomChats = new WeakMap<StreamRoom, RoomChat>();
const writers = new WeakMap<LiveContext, CommentWriter>();

/** The chat state of a room, created on first use and dropped with the room. */
export function chatOf(room: StreamRoom): RoomChat {
  let chat = roomChats.get(room);
  if (!chat) {
    chat = new RoomChat();
    roomChats.set(room, chat);
  }
  return chat;
}

/** One writer per app: comments of every stream share its commits. */
export function writerOf(ctx: LiveContext): CommentWriter {
  let writer = writers.get(ctx);
  if (!writer) {
    writer = new CommentWriter(ctx.db, ctx.log.child({ module: 'comment-writer' }));
    writers.set(ctx, writer);
  }
  return writer;
}

/** History backfill for a socket that just joined (called by the WebSocket route). */
export function sendChatHistory(ctx: LiveContext, room: StreamRoom, conn: LiveConnection): Promise<void> {
  return chatOf(room).sendHistory(ctx, room, conn);
}

/** Blocked words are for the staff's eyes: a list everyone can read is a list to dodge. */
export function chatSettingsFor(role: Role, settings: ChatSettings): ChatSettings {
  return can(role, 'update_chat_settings') ? settings : { ...settings, blockedWords: [] };
}

/** Tells each socket the settings as its role may see them. */
export function broadcastChatSettings(room: StreamRoom): void {
  const staff = room.chatSettings;
  room.broadcast({ type: 'chat_settings', settings: staff }, (c) => can(c.role, 'update_chat_settings'));
  room.broadcast({ type: 'chat_settings', settings: chatSettingsFor('viewer', staff) }, (c) => !can(c.role, 'update_chat_settings'));
}

export const chatHandlers = {
  /**
   * Validates and paces the comment now, then hands it to the group commit and
   * returns: the ack and the broadcast follow the commit, so one client may have
   * several comments in flight and they still land in the order sent.
   */
  async comment(ctx: LiveContext, room: StreamRoom, conn: LiveConnection, msg: ClientMessageOf<'comment'>) {
    const user = conn.user;
    if (!user || !can(conn.role, 'comment')) throw new AppError('unauthorized', 'sign in to comment');
    const content = cleanComment(msg.content);
    const chat = chatOf(room);
    const facts = await chat.authorFacts(ctx, room, user.id, ctx.now());
    // Read role, settings and clock after the await: a moderation action may have landed meanwhile.
    const now = ctx.now();
    const role = conn.role;
    const settings = room.chatSettings;
    if (role !== 'streamer' && facts.timedOutUntil > now) {
      const retry = Math.ceil((facts.timedOutUntil - now) / 1000);
      throw new AppError('timed_out', `you are timed out for ${retry} more seconds`, { retryAfterSeconds: retry });
    }
    if (settings.accountsOnly && !can(role, 'skip_account_age') && now - facts.accountCreatedAt < ACCOUNTS_ONLY_MIN_AGE_MS) {
      const retry = Math.ceil((facts.accountCreatedAt + ACCOUNTS_ONLY_MIN_AGE_MS - now) / 1000);
      throw new AppError('accounts_only', `chat is for established accounts; yours can comment in ${retry} s`, { retryAfterSeconds: retry });
    }
    if (!can(role, 'skip_blocked_words') && blockedWordsOf(settings.blockedWords).find(content) !== null) {
      throw new AppError('blocked_word', 'this comment contains a word blocked on this channel');
    }
    chat.throttle.admit(user.id, role, settings.slowModeSeconds, now);
    const highlighted = can(role, 'highlighted_chat');
    writerOf(ctx).submit(
      { streamId: room.streamId, userId: user.id, content, highlighted, now },
      {
        stored(comment) {
          conn.send({ type: 'comment_ack', requestId: msg.requestId, commentId: comment.id, createdAt: comment.createdAt });
          chat.publish(room, { type: 'comment', comment: toWireComment(comment, user.username, role) });
        },
        failed(err) {
          const unavailable = isStorageUnavailable(err);
          ctx.log.error({ err, streamId: room.streamId }, 'comment not stored');
          const error = unavailable ? new AppError('unavailable', 'storage is unavailable; the comment was not saved') : new AppError('internal', 'the comment was not saved');
          conn.send({ type: 'error', requestId: msg.requestId, error: error.toWire() });
        },
      },
    );
  },
};
