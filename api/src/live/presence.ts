import { addUniqueViewers, insertViewerSample, recordViewerCount } from '@redred/db';
import { ClusterAudience } from '../cluster/audience.ts';
import type { Role } from '../protocol/constants.ts';
import type { ViewerEntry } from '../protocol/common.ts';
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

export interface ViewerPage {
  total: number;
  anonymous: number;
  viewers: ViewerEntry[];
}

/**
 * The audience of one room: who is watching (people, not sockets), the peak,
 * and the coalesced announcements of it. Owns its two timers; close() stops them.
 *
 * In cluster mode the people counted here are those watching through this
 * node; they are mirrored to Redis, and the count every room announces is
 * the cluster's (`ClusterAudience`), which also records it.
 */
export class RoomPresence {
  /** People watching through this process. */
  readonly viewers = new ViewerCounter();
  #peakViewers: number;
  /** The last count announced on the bus (cluster mode: the cluster's). */
  #announced: number | null = null;
  readonly #ctx: LiveContext;
  readonly #streamId: number;
  readonly #publish: (event: RoomEvent) => void;
  readonly #isLive: () => boolean;
  readonly #cluster: ClusterAudience | null;
  #flushTimer: NodeJS.Timeout | null = null;
  #lastFlushAt = 0;
  readonly #sampleTimer: NodeJS.Timeout | null = null;
  #uniquePending: string[] = [];
  #closed = false;

  constructor(ctx: LiveContext, { streamId, peakViewers, publish, isLive }: RoomPresenceOptions) {
    this.#ctx = ctx;
    this.#streamId = streamId;
    this.#peakViewers = peakViewers;
    this.#publish = publish;
    this.#isLive = isLive;
    this.#cluster = ctx.cluster
      ? new ClusterAudience(ctx.cluster, { streamId, local: () => this.viewers.people(), db: ctx.db, log: ctx.log, now: ctx.now, publish, isLive, peak: () => this.#peakViewers })
      : null;
    if (!this.#cluster) {
      this.#sampleTimer = setInterval(() => void this.sampleNow(), VIEWER_SAMPLE_INTERVAL_MS);
      this.#sampleTimer.unref();
    }
  }

  get peakViewers(): number {
    return this.#peakViewers;
  }

  /** People watching the stream: on this node alone, or (cluster) the cluster's last announced count. */
  get count(): number {
    return this.#cluster ? (this.#announced ?? this.viewers.count) : this.viewers.count;
  }

  /** An announcement on the bus (this node's or another's): the count every copy of the room shows. */
  announced(viewers: number, peakViewers: number): void {
    this.#announced = viewers;
    if (peakViewers > this.#peakViewers) this.#peakViewers = peakViewers;
  }

  join(conn: Watcher): void {
    const now = this.#ctx.now();
    if (!this.viewers.add(conn, now)) return;
    if (this.#cluster) return this.#cluster.add(conn.personKey, entryOf(conn, now));
    this.#uniquePending.push(conn.personKey);
    if (this.viewers.count > this.#peakViewers) this.#peakViewers = this.viewers.count;
    this.#schedule();
  }

  leave(conn: Watcher): void {
    if (!this.viewers.remove(conn)) return;
    if (this.#cluster) this.#cluster.remove(conn.personKey);
    else this.#schedule();
  }

  /** A role changed: the viewer list shows the new one. */
  setRole(userId: number, role: Role): void {
    this.viewers.setRole(userId, role);
    const entry = this.viewers.entry(userId);
    if (entry && this.#cluster) this.#cluster.add(`u:${userId}`, entry);
  }

  /** The staff's viewer list: this node's people, or (cluster) everyone's. */
  async list(opts: { search?: string | undefined; offset?: number | undefined; limit?: number | undefined }): Promise<ViewerPage> {
    if (this.#cluster) return this.#cluster.list(opts);
    return { ...this.viewers.list(opts), anonymous: this.viewers.anonymousCount };
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

  /** Announces the latest count and the batched joins/leaves, and persists the count (cluster mode: the lease holder's count, now). */
  async flush(): Promise<void> {
    if (this.#closed) return;
    if (this.#cluster) return this.#cluster.tick();
    const now = this.#ctx.now();
    this.#lastFlushAt = now;
    const viewers = this.viewers.count;
    this.#publish({ kind: 'viewers', viewers, peakViewers: this.#peakViewers });
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
      await insertViewerSample(this.#ctx.db, this.#streamId, this.#ctx.now(), this.count);
    } catch (err) {
      this.#ctx.log.error({ err, streamId: this.#streamId }, 'could not store viewer sample');
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = null;
    if (this.#sampleTimer) clearInterval(this.#sampleTimer);
    void this.#cluster?.close();
  }
}

function entryOf(conn: Watcher, now: number): ViewerEntry | null {
  return conn.user ? { id: conn.user.id, username: conn.user.username, role: conn.role, since: now } : null;
}
