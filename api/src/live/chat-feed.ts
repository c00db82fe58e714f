import type { WireComment } from '../protocol/common.ts';

/** Where a room's chat stands: the position and id of the last comment it delivered (0, 0: none). */
export interface ChatCursor {
  position: number;
  lastId: number;
}

/** A comment read back from the database: hidden ones count for positions but are not delivered. */
export interface ReadBackComment {
  comment: WireComment;
  hidden: boolean;
}

/** Held comments wait this long for the batches before them before the feed reads the gap back from the database. */
export const CHAT_GAP_WAIT_MS = 1000;
/** Comments one read-back fetches; a longer gap takes several. */
export const CHAT_READ_BACK_LIMIT = 1000;
/** Hidden comment ids remembered, so a comment deleted before it came out is never shown. */
const MAX_REMEMBERED_HIDDEN = 10_000;

export interface ChatFeedOptions {
  /** What the room had delivered when it opened: the stream's comment count and last id then. */
  start: ChatCursor;
  /** Receives the comments in position order, each exactly once. */
  deliver: (comments: WireComment[]) => void;
  /** The stream's comments after `afterId`, oldest first, at most `limit`. */
  readBack: (afterId: number, limit: number) => Promise<ReadBackComment[]>;
  onReadBackError: (err: unknown) => void;
  gapWaitMs?: number;
}

/**
 * A room's chat in the stream's one order: the comments' positions (the
 * stream's comment count when each was stored, without holes). Batches arrive
 * from several paths — this node's own commits, the room bus from every
 * node, read-backs — possibly out of order and twice; the feed delivers each
 * position once, in order, holding later ones until the earlier ones are in.
 * A hole nobody fills (a node died between its commit and its publish, the
 * bus was down) is read back from the database after `gapWaitMs`, and so is a
 * tail the database has and the feed never heard of (`checkStored`).
 *
 * Every node's rooms thus deliver the same comments in the same order: the
 * order of the commits, which the channel's write lock makes the order of ids.
 */
export class ChatFeed {
  #position: number;
  #lastId: number;
  readonly #held = new Map<number, WireComment>();
  readonly #hidden = new Set<number>();
  readonly #opts: ChatFeedOptions;
  readonly #gapWaitMs: number;
  #gapTimer: NodeJS.Timeout | null = null;
  #readingBack: Promise<void> | null = null;
  /** The stored count seen by the previous `checkStored`: still not reached at the next one, it is read back. */
  #storedSeen = 0;
  #closed = false;

  constructor(opts: ChatFeedOptions) {
    this.#opts = opts;
    this.#position = opts.start.position;
    this.#lastId = opts.start.lastId;
    this.#gapWaitMs = opts.gapWaitMs ?? CHAT_GAP_WAIT_MS;
  }

  /** The position of the last comment delivered. */
  get position(): number {
    return this.#position;
  }

  /** The id of the last comment delivered (0: none yet). */
  get lastId(): number {
    return this.#lastId;
  }

  /** Comments waiting for the ones before them. */
  get held(): number {
    return this.#held.size;
  }

  /** Comments at positions `from`, `from + 1`, …: delivers what is next in order, holds the rest. */
  accept(from: number, comments: readonly WireComment[]): void {
    if (this.#closed) return;
    comments.forEach((comment, i) => {
      const position = from + i;
      if (position > this.#position) this.#held.set(position, comment);
    });
    this.#drain();
  }

  /** A comment hidden by a moderator: if it has not come out yet, it never will. */
  hide(commentIds: readonly number[]): void {
    for (const id of commentIds) this.#hidden.add(id);
    if (this.#hidden.size > MAX_REMEMBERED_HIDDEN) {
      // Only ids still ahead of the feed matter.
      for (const id of this.#hidden) if (id <= this.#lastId) this.#hidden.delete(id);
    }
  }

  /**
   * The stream's stored comment count (the room sync reads it every few
   * seconds): a count the feed had not reached at the previous check either is
   * a tail it never heard of, read back now.
   */
  checkStored(count: number): void {
    if (this.#closed) return;
    if (this.#storedSeen > this.#position) void this.readBack();
    this.#storedSeen = count;
  }

  /** Reads everything after the last delivered comment from the database (a gap, a missed tail). One at a time. */
  readBack(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#readingBack ??= this.#readBackLoop().finally(() => {
      this.#readingBack = null;
      this.#drain();
    });
    return this.#readingBack;
  }

  close(): void {
    this.#closed = true;
    this.#held.clear();
    this.#clearGapTimer();
  }

  async #readBackLoop(): Promise<void> {
    this.#clearGapTimer();
    for (;;) {
      let rows: ReadBackComment[];
      try {
        rows = await this.#opts.readBack(this.#lastId, CHAT_READ_BACK_LIMIT);
      } catch (err) {
        this.#opts.onReadBackError(err);
        return;
      }
      if (this.#closed || rows.length === 0) return;
      // Rows follow the last delivered one, so they hold the next positions; later ones may have arrived meanwhile.
      const from = this.#position + 1;
      const hidden = rows.filter((r) => r.hidden).map((r) => r.comment.id);
      this.hide(hidden);
      this.accept(
        from,
        rows.map((r) => r.comment),
      );
      if (rows.length < CHAT_READ_BACK_LIMIT) return;
    }
  }

  #drain(): void {
    const out: WireComment[] = [];
    for (let next = this.#held.get(this.#position + 1); next; next = this.#held.get(this.#position + 1)) {
      this.#held.delete(this.#position + 1);
      this.#position++;
      this.#lastId = next.id;
      if (!this.#hidden.has(next.id)) out.push(next);
    }
    if (out.length > 0) this.#opts.deliver(out);
    if (this.#held.size === 0) this.#clearGapTimer();
    else if (!this.#gapTimer && !this.#readingBack) {
      this.#gapTimer = setTimeout(() => {
        this.#gapTimer = null;
        void this.readBack();
      }, this.#gapWaitMs);
      this.#gapTimer.unref();
    }
  }

  #clearGapTimer(): void {
    if (this.#gapTimer) clearTimeout(this.#gapTimer);
    this.#gapTimer = null;
  }
}
