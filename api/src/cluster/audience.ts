import { addUniqueViewers, insertViewerSample, recordViewerCount, type Db } from '@redred/db';
import type { FastifyBaseLogger } from 'fastify';
import type { UserRef, ViewerEntry } from '../protocol/common.ts';
import type { RoomEvent } from '../live/bus.ts';
import type { ClusterNode } from './node.ts';

/** The marker stored for a watcher without an account (each anonymous socket is one person). */
const ANONYMOUS = 'a';

/** Who was last announced is forgotten after this long without a lease holder (the stream is surely over). */
const ANNOUNCED_TTL_MS = 24 * 3600 * 1000;

/** A viewers-over-time sample at least this often while live (as a lone node takes them). */
const SAMPLE_INTERVAL_MS = 10_000;

export interface ClusterAudienceOptions {
  streamId: number;
  /** The people watching through this node now: written again if Redis lost them (it was unreachable past the expiry). */
  local: () => [string, ViewerEntry | null][];
  db: Db;
  log: FastifyBaseLogger;
  now: () => number;
  publish: (event: RoomEvent) => void;
  isLive: () => boolean;
  /** The peak every copy of the room knows (stored at open, raised by announcements). */
  peak: () => number;
}

type People = Map<string, ViewerEntry | null>;

/**
 * The audience of one stream across the cluster. Each node mirrors the people
 * watching through it into its own Redis hash (`presence:<stream>:<node>`:
 * person key → entry), which expires with the node; one node at a time, the
 * holder of a short lease, reads every live node's hash, counts the union —
 * an account watching through two nodes is one person — and does what a lone
 * node's presence does: announces the count (at most once per heartbeat),
 * joins and leaves to the staff, records the count (so the time-weighted
 * average and the peak come from one writer), unique viewers and samples.
 * Who was last announced is kept in Redis too (`presence:<stream>:announced`),
 * so a lease holder that dies (its lease expires with its node) is followed by
 * another that announces exactly the changes since.
 */
export class ClusterAudience {
  readonly #node: ClusterNode;
  readonly #opts: ClusterAudienceOptions;
  readonly #hash: string;
  readonly #nodesKey: string;
  readonly #leaseKey: string;
  readonly #announcedKey: string;
  readonly #stopBeat: () => void;
  #lastSampleAt = 0;
  #ticking: Promise<void> | null = null;
  #closed = false;

  constructor(node: ClusterNode, opts: ClusterAudienceOptions) {
    this.#node = node;
    this.#opts = opts;
    this.#hash = node.key('presence', opts.streamId, node.id);
    this.#nodesKey = node.key('presence', opts.streamId, 'nodes');
    this.#leaseKey = node.key('presence', opts.streamId, 'lease');
    this.#announcedKey = node.key('presence', opts.streamId, 'announced');
    this.#stopBeat = node.onBeat(() => this.tick());
  }

  /** A person started watching through this node. */
  add(key: string, entry: ViewerEntry | null): void {
    this.#write((m) => m.hset(this.#hash, key, entry ? JSON.stringify(entry) : ANONYMOUS).pexpire(this.#hash, this.#node.nodeTtlMs).sadd(this.#nodesKey, this.#node.id));
  }

  /** Their last socket on this node left. */
  remove(key: string): void {
    this.#write((m) => m.hdel(this.#hash, key));
  }

  /** Refreshes this node's hash; as lease holder, counts and announces. One at a time. */
  tick(): Promise<void> {
    this.#ticking ??= this.#tick().finally(() => {
      this.#ticking = null;
    });
    return this.#ticking;
  }

  /** Everyone watching, on every live node: signed-in viewers sorted by name (filtered, paged), and the anonymous count. */
  async list(opts: { search?: string | undefined; offset?: number | undefined; limit?: number | undefined }): Promise<{ total: number; anonymous: number; viewers: ViewerEntry[] }> {
    const people = await this.#union();
    const needle = opts.search?.toLowerCase();
    let anonymous = 0;
    const all: ViewerEntry[] = [];
    for (const entry of people.values()) {
      if (!entry) anonymous++;
      else if (!needle || entry.username.toLowerCase().includes(needle)) all.push(entry);
    }
    all.sort((a, b) => a.username.localeCompare(b.username));
    const offset = opts.offset ?? 0;
    return { total: all.length, anonymous, viewers: all.slice(offset, offset + (opts.limit ?? 50)) };
  }

  /** Leaves: this node's people are gone from the count at the next holder's tick. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopBeat();
    await this.#ticking;
    if (this.#node.closed) return;
    await this.#node.redis
      .multi()
      .del(this.#hash)
      .srem(this.#nodesKey, this.#node.id)
      .redredRelease(this.#leaseKey, this.#node.id)
      .exec()
      .catch((err: unknown) => this.#opts.log.warn({ err, streamId: this.#opts.streamId }, 'could not withdraw presence'));
  }

  #write(build: (m: ReturnType<ClusterNode['redis']['multi']>) => unknown): void {
    if (this.#closed) return;
    const multi = this.#node.redis.multi();
    build(multi);
    multi.exec().catch((err: unknown) => this.#opts.log.warn({ err, streamId: this.#opts.streamId }, 'presence not mirrored to Redis'));
  }

  async #tick(): Promise<void> {
    if (this.#closed) return;
    const redis = this.#node.redis;
    const [refreshed, , lease] = ((await redis
      .multi()
      .pexpire(this.#hash, this.#node.nodeTtlMs)
      .sadd(this.#nodesKey, this.#node.id)
      .redredLease(this.#leaseKey, this.#node.id, String(this.#node.nodeTtlMs))
      .exec()) ?? []) as [[Error | null, number] | undefined, unknown, [Error | null, number] | undefined];
    const local = this.#opts.local();
    if (refreshed?.[1] === 0 && local.length > 0) {
      // Our hash expired while Redis was out of reach: everyone watching here is written again.
      const rewrite = redis.multi();
      for (const [key, entry] of local) rewrite.hset(this.#hash, key, entry ? JSON.stringify(entry) : ANONYMOUS);
      await rewrite.pexpire(this.#hash, this.#node.nodeTtlMs).exec();
    }
    if (lease?.[1] !== 1) return;
    const [people, previous] = await Promise.all([this.#union(), this.#announced()]);
    if (this.#closed) return;
    await this.#announce(people, previous);
  }

  async #announced(): Promise<People> {
    const hash = await this.#node.redis.hgetall(this.#announcedKey);
    return new Map(Object.entries(hash).map(([key, text]) => [key, text === ANONYMOUS ? null : parseEntry(text)]));
  }

  async #announce(people: People, previous: People): Promise<void> {
    const { db, streamId, now: clock, publish } = this.#opts;
    const now = clock();
    const count = people.size;
    const peak = Math.max(this.#opts.peak(), count);
    const joined: ViewerEntry[] = [];
    const left: UserRef[] = [];
    let anonymousJoined = 0;
    let anonymousLeft = 0;
    const newKeys: string[] = [];
    const goneKeys: string[] = [];
    for (const [key, entry] of people) {
      if (previous.has(key)) continue;
      newKeys.push(key);
      if (entry) joined.push(entry);
      else anonymousJoined++;
    }
    for (const [key, entry] of previous) {
      if (people.has(key)) continue;
      goneKeys.push(key);
      if (entry) left.push({ id: entry.id, username: entry.username, role: entry.role });
      else anonymousLeft++;
    }
    if (newKeys.length === 0 && goneKeys.length === 0) return this.#sample(now, count);
    const record = this.#node.redis.multi();
    if (goneKeys.length > 0) record.hdel(this.#announcedKey, ...goneKeys);
    for (const key of newKeys) {
      const entry = people.get(key);
      record.hset(this.#announcedKey, key, entry ? JSON.stringify(entry) : ANONYMOUS);
    }
    await record.pexpire(this.#announcedKey, ANNOUNCED_TTL_MS).exec();
    publish({ kind: 'viewers', viewers: count, peakViewers: peak });
    if (joined.length > 0 || anonymousJoined > 0) publish({ kind: 'message', audience: { to: 'staff' }, message: { type: 'user_joined', users: joined, anonymous: anonymousJoined, at: now } });
    if (left.length > 0 || anonymousLeft > 0) publish({ kind: 'message', audience: { to: 'staff' }, message: { type: 'user_left', users: left, anonymous: anonymousLeft, at: now } });
    try {
      await recordViewerCount(db, streamId, count, now);
      await addUniqueViewers(db, streamId, newKeys, now);
    } catch (err) {
      this.#opts.log.error({ err, streamId }, 'could not persist viewer count');
    }
    await this.#sample(now, count);
  }

  async #sample(now: number, count: number): Promise<void> {
    if (!this.#opts.isLive() || now - this.#lastSampleAt < SAMPLE_INTERVAL_MS) return;
    this.#lastSampleAt = now;
    try {
      await insertViewerSample(this.#opts.db, this.#opts.streamId, now, count);
    } catch (err) {
      this.#opts.log.error({ err, streamId: this.#opts.streamId }, 'could not store viewer sample');
    }
  }

  /** Every live node's people for this stream; nodes that died are forgotten. */
  async #union(): Promise<People> {
    const redis = this.#node.redis;
    const members = await redis.smembers(this.#nodesKey);
    const alive = await this.#node.alive(members);
    const dead = members.filter((id) => !alive.has(id));
    const pipeline = redis.pipeline();
    if (dead.length > 0) pipeline.srem(this.#nodesKey, ...dead);
    const ids = [...alive];
    for (const id of ids) pipeline.hgetall(this.#node.key('presence', this.#opts.streamId, id));
    const results = (await pipeline.exec()) ?? [];
    const hashes = results.slice(dead.length > 0 ? 1 : 0);
    const people: People = new Map();
    for (const [, value] of hashes) {
      for (const [key, text] of Object.entries((value ?? {}) as Record<string, string>)) {
        const entry = text === ANONYMOUS ? null : parseEntry(text);
        const known = people.get(key);
        // The same account through two nodes: one person, watching since the earlier join.
        if (known && entry && known.since <= entry.since) continue;
        people.set(key, entry);
      }
    }
    return people;
  }
}

function parseEntry(text: string): ViewerEntry | null {
  try {
    const e = JSON.parse(text) as ViewerEntry;
    return typeof e.id === 'number' && typeof e.username === 'string' ? e : null;
  } catch {
    return null;
  }
}
