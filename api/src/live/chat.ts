import { commentsAfter, lastCommentId, recentCommentsWithRoles, type CommentWithRole } from '@redred/db';
import { AppError, isStorageUnavailable } from '../errors.ts';
import type { ClientMessageOf } from '../protocol/client-messages.ts';
import type { ChatSettings, WireComment } from '../protocol/common.ts';
import { LIMITS, type Role } from '../protocol/constants.ts';
import type { ServerMessage } from '../protocol/server-messages.ts';
import { ChatFeed, type ChatCursor } from './chat-feed.ts';
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
 * The chat of one room: its comment writer (group commit), its feed (the
 * stream's comments in their one order, from every node), the outbox of
 * comments not yet sent to sockets, and the sockets still waiting for their
 * history. Created and closed with the room.
 *
 * Every committed comment reaches every node's rooms through the room bus as
 * a `comments` event carrying its position (chat-feed.ts); this node's own
 * commits also go straight into its feed, which keeps each position once.
 *
 * Sending is coalesced: comments delivered within `chatFlushMs` of the last
 * flush go out together as ONE frame per socket, serialised once. A flush after
 * a quiet period goes out at the next turn of the event loop, so a lone
 * comment is not delayed.
 *
 * History and live comments meet by id: a socket's history holds every
 * comment up to the stream's last id when it was read (its cut-off), and the
 * socket receives live exactly the comments after it — those flushed while
 * it waited (kept in a backlog while anyone waits) and those flushed later.
 */
export class RoomChat {
  readonly writer: CommentWriter;
  readonly feed: ChatFeed;
  readonly #ctx: LiveContext;
  readonly #room: StreamRoom;
  readonly #awaitingHistory = new Set<LiveConnection>();
  /** Comments flushed while some socket waits for its history. */
  #backlog: WireComment[] = [];
  /** History cut-offs that may still be ahead of live comments. */
  readonly #cutoffs = new Map<LiveConnection, number>();
  #historyQueued = false;
  /** This node's commits not yet published (one bus event per commit). */
  #committed: { position: number; comment: WireComment }[] = [];
  #outbox: WireComment[] = [];
  #flushTimer: NodeJS.Timeout | null = null;
  #lastFlushAt = -Infinity;
  /** Settings changes are numbered inside their transaction; an older one never overwrites a newer one. */
  settingsVersion = 0;
  appliedSettingsVersion = 0;

  constructor(ctx: LiveContext, room: StreamRoom, start: ChatCursor) {
    this.#ctx = ctx;
    this.#room = room;
    const log = ctx.log.child({ module: 'chat', streamId: room.streamId });
    this.writer = new CommentWriter(ctx.db, room.gate, log);
    this.feed = new ChatFeed({
      start,
      deliver: (comments) => this.#enqueue(comments),
      readBack: async (afterId, limit) =>
        (await commentsAfter(ctx.db, room.streamId, room.channelId, afterId, limit)).map((c) => ({ comment: wireFromRow(c, room.channelId), hidden: c.hidden })),
      onReadBackError: (err) => log.warn({ err }, 'could not read missed comments back; retrying with the next one'),
    });
  }

  /**
   * A comment this node committed (called in commit order). The commit's
   * comments go out as one bus event once its outcomes are reported.
   */
  committed(position: number, comment: WireComment): void {
    if (this.#committed.length === 0) queueMicrotask(() => this.#publishCommitted());
    this.#committed.push({ position, comment });
  }

  #publishCommitted(): void {
    const batch = this.#committed;
    this.#committed = [];
    for (const run of consecutiveRuns(batch)) {
      const event = { kind: 'comments', from: run[0]!.position, comments: run.map((c) => c.comment) } as const;
      this.feed.accept(event.from, event.comments);
      // Committed while the room closed (the writer drains on close): other nodes still carry the stream.
      if (!this.#ctx.bus.closed) this.#ctx.bus.publish(this.#room.streamId, event);
    }
  }

  /** Comments in the stream's order, from the feed: sent with the room's next flush. */
  #enqueue(comments: WireComment[]): void {
    if (this.#room.closed) return;
    this.#outbox.push(...comments);
    if (this.#flushTimer) return;
    const wait = Math.max(0, this.#lastFlushAt + this.#ctx.config.chatFlushMs - this.#ctx.now());
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = null;
      this.#flush();
    }, wait);
  }

  #flush(): void {
    const comments = this.#outbox;
    if (comments.length === 0 || this.#room.closed) return;
    this.#outbox = [];
    this.#lastFlushAt = this.#ctx.now();
    if (this.#awaitingHistory.size > 0) this.#backlog.push(...comments);
    const firstId = comments[0]!.id;
    let data: string | undefined;
    for (const conn of this.#room.connections()) {
      if (this.#awaitingHistory.has(conn)) continue;
      const cutoff = this.#cutoffs.get(conn);
      if (cutoff !== undefined && cutoff >= firstId) {
        sendComments(conn, comments.filter((c) => c.id > cutoff));
        continue;
      }
      if (cutoff !== undefined) this.#cutoffs.delete(conn);
      data ??= JSON.stringify(commentsMessage(comments));
      conn.sendRaw(data);
    }
  }

  /** Live comments skip a socket until its history is out. */
  hasHistory(conn: LiveConnection): boolean {
    return !this.#awaitingHistory.has(conn);
  }

  forget(conn: LiveConnection): void {
    this.#awaitingHistory.delete(conn);
    this.#cutoffs.delete(conn);
    if (this.#awaitingHistory.size === 0) this.#backlog = [];
  }

  /**
   * Sends the last comments to a socket that just joined, then what was
   * flushed while it waited and comes after them: each comment once, in the
   * history or live, never both or neither. Joins that pile up share one read.
   */
  sendHistory(conn: LiveConnection): Promise<void> {
    this.#awaitingHistory.add(conn);
    if (this.#historyQueued) return Promise.resolve();
    this.#historyQueued = true;
    return new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#readHistory());
  }

  async #readHistory(): Promise<void> {
    this.#historyQueued = false;
    const room = this.#room;
    const waiting = [...this.#awaitingHistory];
    let cutoff = this.feed.lastId;
    try {
      cutoff = await lastCommentId(this.#ctx.db, room.streamId);
      const rows = await recentCommentsWithRoles(this.#ctx.db, room.streamId, room.channelId, LIMITS.historyBackfill, cutoff);
      const data = JSON.stringify({ type: 'chat_history', comments: rows.map((c) => wireFromRow(c, room.channelId)) } satisfies ServerMessage);
      for (const c of waiting) c.sendRaw(data);
    } catch (err) {
      this.#ctx.log.error({ err, streamId: room.streamId }, 'could not load chat history');
    }
    const missed = this.#backlog.filter((c) => c.id > cutoff);
    for (const c of waiting) {
      if (!this.#awaitingHistory.delete(c)) continue;
      if (missed.length > 0) sendComments(c, missed);
      this.#cutoffs.set(c, cutoff);
    }
    if (this.#awaitingHistory.size === 0) this.#backlog = [];
  }

  /** Refuses new comments; resolves once every admitted one is committed or failed. */
  close(): Promise<void> {
    this.#awaitingHistory.clear();
    this.#cutoffs.clear();
    this.#backlog = [];
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = null;
    this.#outbox = [];
    this.feed.close();
    return this.writer.close();
  }
}

function commentsMessage(comments: WireComment[]): ServerMessage {
  return comments.length === 1 ? { type: 'comment', comment: comments[0]! } : { type: 'comments', comments };
}

function sendComments(conn: LiveConnection, comments: WireComment[]): void {
  if (comments.length > 0) conn.send(commentsMessage(comments));
}

/** The role shown for a stored comment: its author's role on the channel now. */
function wireFromRow(c: CommentWithRole, channelId: number): WireComment {
  return toWireComment(c, c.username, c.userId === channelId ? 'streamer' : (c.channelRole ?? 'viewer'));
}

/** Splits position-ordered comments where positions jump (another node committed in between): one event per run. */
function consecutiveRuns<T extends { position: number }>(items: T[]): T[][] {
  const runs: T[][] = [];
  for (const item of items) {
    const run = runs[runs.length - 1];
    if (run && run[run.length - 1]!.position + 1 === item.position) run.push(item);
    else runs.push([item]);
  }
  return runs;
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
          room.chat.committed(comment.position, toWireComment(comment, author.username, role));
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
