import { addUniqueViewers, insertViewerSample, recordViewerCount } from '@redred/db';
import type { RoomEvent } from './bus.ts';
import type { LiveContext } from './context.ts';
import { ViewerCounter, type Watcher } from './viewers.ts';

/** viewers_update goes out at most this often per stream, always with the latest count. */
export const VIEWERS_UPDATE_INTERVAL_MS = 1000;
/** A viewers-over-time sample at least this often while live. */
export const VIEWER_SAMPLE_INTERVAL_MS = 10_000;

export interface RoomPresenceOptions {
  streamId: number;
  peakViewers: number;
  publish: (event: RoomEvent) => void;
  isLive: () => boolean;
}

/**
 * The audience of one room: who is watching (people, not sockets), the peak,
 * and the coalesced announcements of it. Owns its two timers; close() stops them.
 */
export class RoomPresence {
  readonly viewers = new ViewerCounter();
  #peakViewers: number;
  readonly #ctx: LiveContext;
  readonly #streamId: number;
  readonly #publish: (event: RoomEvent) => void;
  readonly #isLive: () => boolean;
  #flushTimer: NodeJS.Timeout | null = null;
  #lastFlushAt = 0;
  readonly #sampleTimer: NodeJS.Timeout;
  #uniquePending: string[] = [];
  #closed = false;

  constructor(ctx: LiveContext, { streamId, peakViewers, publish, isLive }: RoomPresenceOptions) {
    this.#ctx = ctx;
    this.#streamId = streamId;
    this.#peakViewers = peakViewers;
    this.#publish = publish;
    this.#isLive = isLive;
    this.#sampleTimer = setInterval(() => void this.sampleNow(), VIEWER_SAMPLE_INTERVAL_MS);
    this.#sampleTimer.unref();
  }

  get peakViewers(): number {
    return this.#peakViewers;
  }

  join(conn: Watcher): void {
    if (!this.viewers.add(conn, this.#ctx.now())) return;
    this.#uniquePending.push(conn.personKey);
    if (this.viewers.count > this.#peakViewers) this.#peakViewers = this.viewers.count;
    this.#schedule();
  }

  leave(conn: Watcher): void {
    if (this.viewers.remove(conn)) this.#schedule();
  }

  /** Coalesces announcements: the first change goes out at once, then at most one per interval. */
  #schedule(): void {
    if (this.#flushTimer || this.#closed) return;
    const wait = Math.max(0, this.#lastFlushAt + VIEWERS_UPDATE_INTERVAL_MS - this.#ctx.now());
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = null;
      void this.flush();
    }, wait);
  }

  /** Announces the latest count and the batched joins/leaves, and persists the count. */
  async flush(): Promise<void> {
    if (this.#closed) return;
    const now = this.#ctx.now();
    this.#lastFlushAt = now;
    const viewers = this.viewers.count;
    this.#publish({ kind: 'message', audience: { to: 'all' }, message: { type: 'viewers_update', viewers, peakViewers: this.#peakViewers } });
    const change = this.viewers.drainChanges();
    if (change.joined.length > 0 || change.anonymousJoined > 0) {
      this.#publish({ kind: 'message', audience: { to: 'staff' }, message: { type: 'user_joined', users: change.joined, anonymous: change.anonymousJoined, at: now } });
    }
    if (change.left.length > 0 || change.anonymousLeft > 0) {
      this.#publish({ kind: 'message', audience: { to: 'staff' }, message: { type: 'user_left', users: change.left, anonymous: change.anonymousLeft, at: now } });
    }
    const unique = this.#uniquePending;
    this.#uniquePending = [];
    try {
      await recordViewerCount(this.#ctx.db, this.#streamId, viewers, now);
      await addUniqueViewers(this.#ctx.db, this.#streamId, unique, now);
    } catch (err) {
      this.#ctx.log.error({ err, streamId: this.#streamId }, 'could not persist viewer count');
    }
  }

  /** A viewers-over-time sample (every interval while live, and the moment the stream goes live). */
  async sampleNow(): Promise<void> {
    if (this.#closed || !this.#isLive()) return;
    try {
      await insertViewerSample(this.#ctx.db, this.#streamId, this.#ctx.now(), this.viewers.count);
    } catch (err) {
      this.#ctx.log.error({ err, streamId: this.#streamId }, 'could not store viewer sample');
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = null;
    clearInterval(this.#sampleTimer);
  }
}
