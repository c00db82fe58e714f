import { recentCommentsWithRoles } from '@redred/db';
import { AppError, isStorageUnavailable } from '../errors.ts';
import type { ClientMessageOf } from '../protocol/client-messages.ts';
import type { ChatSettings, WireComment } from '../protocol/common.ts';
import { LIMITS, type Role } from '../protocol/constants.ts';
import type { ServerMessage } from '../protocol/server-messages.ts';
import { cleanComment } from './chat-rules.ts';
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

/**
 * The chat of one room: its comment writer (group commit), the outbox of
 * committed comments not yet delivered, and the sockets still waiting for their
 * history (they get live comments only after it). Created and closed with the room.
 *
 * Delivery is coalesced: comments committed within `chatFlushMs` of the last
 * flush go out together as ONE frame per socket, serialised once. A flush after
 * a quiet period goes out at the next turn of the event loop (with the rest of
 * its commit), so a lone comment is not delayed.
 */
export class RoomChat {
  readonly writer: CommentWriter;
  readonly #ctx: LiveContext;
  readonly #room: StreamRoom;
  readonly #awaitingHistory = new Set<LiveConnection>();
  #historyQueued = false;
  #outbox: WireComment[] = [];
  #flushTimer: NodeJS.Timeout | null = null;
  #lastFlushAt = -Infinity;
  /** Settings changes are numbered inside their transaction; an older one never overwrites a newer one. */
  settingsVersion = 0;
  appliedSettingsVersion = 0;

  constructor(ctx: LiveContext, room: StreamRoom) {
    this.#ctx = ctx;
    this.#room = room;
    this.writer = new CommentWriter(ctx.db, room.gate, ctx.log.child({ module: 'comment-writer', streamId: room.streamId }));
  }

  /** A committed comment, delivered with the room's next flush (in commit order). */
  deliver(comment: WireComment): void {
    // Committed while the room closed (the writer drains on close): nobody is left to tell.
    if (this.#room.closed) return;
    this.#outbox.push(comment);
    if (this.#flushTimer) return;
    const wait = Math.max(0, this.#lastFlushAt + this.#ctx.config.chatFlushMs - this.#ctx.now());
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = null;
      this.#flush();
    }, wait);
  }

  #flush(): void {
    const comments = this.#outbox;
    if (comments.length === 0) return;
    this.#outbox = [];
    this.#lastFlushAt = this.#ctx.now();
    const message: ServerMessage = comments.length === 1 ? { type: 'comment', comment: comments[0]! } : { type: 'comments', comments };
    this.#room.publish({ kind: 'message', audience: { to: 'chat' }, message });
  }

  /** Live comments (audience `chat`) skip a socket until its history is out. */
  hasHistory(conn: LiveConnection): boolean {
    return !this.#awaitingHistory.has(conn);
  }

  forget(conn: LiveConnection): void {
    this.#awaitingHistory.delete(conn);
  }

  /**
   * Sends the last comments to a socket that just joined. The read runs between
   * two commits and the socket receives live comments only from then on, so it
   * sees each comment exactly once: in the history or live, never both or
   * neither. Joins that pile up share one query.
   */
  sendHistory(conn: LiveConnection): Promise<void> {
    this.#awaitingHistory.add(conn);
    if (this.#historyQueued) return Promise.resolve();
    this.#historyQueued = true;
    const room = this.#room;
    return this.writer.exclusive(async () => {
      this.#historyQueued = false;
      // Committed comments still in the outbox go to the sockets that have their
      // history now; the history read below includes them for the newcomers.
      this.#flush();
      const waiting = [...this.#awaitingHistory];
      try {
        const rows = await recentCommentsWithRoles(this.#ctx.db, room.streamId, room.channelId, LIMITS.historyBackfill);
        const comments = rows.map((c) => toWireComment(c, c.username, c.userId === room.channelId ? 'streamer' : (c.channelRole ?? 'viewer')));
        const data = JSON.stringify({ type: 'chat_history', comments } satisfies ServerMessage);
        for (const c of waiting) c.sendRaw(data);
      } catch (err) {
        this.#ctx.log.error({ err, streamId: room.streamId }, 'could not load chat history');
      } finally {
        for (const c of waiting) this.#awaitingHistory.delete(c);
      }
    });
  }

  /** Refuses new comments; resolves once every admitted one is committed or failed. */
  close(): Promise<void> {
    this.#awaitingHistory.clear();
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = null;
    this.#outbox = [];
    return this.writer.close();
  }
}

/** Blocked words are for the staff's eyes: a list everyone can read is a list to dodge. */
export function chatSettingsFor(role: Role, settings: ChatSettings): ChatSettings {
  return can(role, 'update_chat_settings') ? settings : { ...settings, blockedWords: [] };
}

export const chatHandlers = {
  /**
   * Validates and paces the comment now, then hands it to the group commit and
   * returns: the ack and the broadcast follow the commit, so one client may have
   * several comments in flight and they still land in the order sent.
   */
  async comment(ctx: LiveContext, room: StreamRoom, conn: LiveConnection, msg: ClientMessageOf<'comment'>) {
    const content = cleanComment(msg.content);
    const { author, highlighted } = await room.gate.admitComment(conn, content, () => room.chatSettings, ctx.now);
    // The role shown is the one the comment was admitted under.
    const role = conn.role;
    room.chat.writer.submit(
      { streamId: room.streamId, userId: author.id, content, highlighted, now: ctx.now() },
      {
        stored(comment) {
          conn.send({ type: 'comment_ack', requestId: msg.requestId, commentId: comment.id, createdAt: comment.createdAt });
          room.chat.deliver(toWireComment(comment, author.username, role));
        },
        failed(err) {
          if (err instanceof AppError) {
            conn.send({ type: 'error', requestId: msg.requestId, error: err.toWire() });
            return;
          }
          const unavailable = isStorageUnavailable(err);
          ctx.log.error({ err, streamId: room.streamId }, 'comment not stored');
          const error = unavailable ? new AppError('unavailable', 'storage is unavailable; the comment was not saved') : new AppError('internal', 'the comment was not saved');
          conn.send({ type: 'error', requestId: msg.requestId, error: error.toWire() });
        },
      },
    );
  },
};
