import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { FastifyBaseLogger } from 'fastify';
import { Redis, type Result } from 'ioredis';
import { ClusterError } from './errors.ts';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    redredLease(key: string, owner: string, ttlMs: string): Result<number, Context>;
    redredRelease(key: string, owner: string): Result<number, Context>;
  }
}

/** Takes the lease if it is free, renews it if `owner` holds it; 1 when `owner` holds it after the call. */
const LEASE_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if cur == false then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0
`;
/** Deletes the key only if `owner` holds it. */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** What a node tells the others about how busy it is (refreshed with every heartbeat). */
export interface NodeLoad {
  rooms: number;
  connections: number;
  /** People watching on this node (accounts once, each anonymous socket once). */
  viewers: number;
  /** Consumers on its mediasoup workers, pipe consumers included. */
  consumers: number;
}

/** One node of the cluster, as the registry holds it. */
export interface NodeInfo {
  id: string;
  /** Where the other nodes call it (internal HTTP: pipes). */
  internalUrl: string;
  /** The address its pipe transports listen on, for media from and to the other nodes. */
  mediaAddress: string;
  startedAt: number;
  /** Its last heartbeat (its own clock). */
  seenAt: number;
  load: NodeLoad;
}

export interface ClusterNodeOptions {
  url: string;
  /** Prefix of every key: the nodes of one cluster share it. */
  name: string;
  nodeId: string | undefined;
  heartbeatMs: number;
  nodeTtlMs: number;
  log: FastifyBaseLogger;
  now?: () => number;
}

type BeatListener = () => void | Promise<void>;

/** Where the Redis is, for messages: never the URL itself (it may hold a password). */
export function describeRedis(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '6379'}`;
  } catch {
    return 'REDIS_URL';
  }
}

/**
 * This process as a node of the cluster: its entry in the node registry
 * (`<name>:node:<id>`, a hash refreshed by every heartbeat and expiring
 * `nodeTtlMs` after the last one, so a node that stops beating — crashed,
 * cut off — is dead to the others), and the Redis connection the cluster's
 * shared state uses (presence, the stream → origin map). Everything that must
 * happen periodically in cluster mode hangs off the heartbeat (`onBeat`), so
 * there is one timer to own and stop.
 */
export class ClusterNode {
  readonly id: string;
  readonly name: string;
  readonly redis: Redis;
  readonly heartbeatMs: number;
  readonly nodeTtlMs: number;
  readonly #log: FastifyBaseLogger;
  readonly #now: () => number;
  readonly #url: string;
  readonly #listeners = new Set<BeatListener>();
  #info: Omit<NodeInfo, 'seenAt' | 'load'> | null = null;
  #load: () => NodeLoad = () => ({ rooms: 0, connections: 0, viewers: 0, consumers: 0 });
  #timer: NodeJS.Timeout | null = null;
  #beating: Promise<void> = Promise.resolve();
  #lastBeatFailed = false;
  #closed = false;

  /** Connects; rejects with `cluster_unavailable` if Redis cannot be reached now. */
  static async connect(opts: ClusterNodeOptions): Promise<ClusterNode> {
    const node = new ClusterNode(opts);
    try {
      await node.redis.connect();
    } catch (err) {
      node.redis.disconnect();
      throw new ClusterError('cluster_unavailable', `Redis at ${describeRedis(opts.url)} is unreachable: ${(err as Error).message}`);
    }
    return node;
  }

  private constructor(opts: ClusterNodeOptions) {
    this.id = opts.nodeId ?? `${hostname().replace(/[^A-Za-z0-9.-]/g, '-').slice(0, 40)}-${randomBytes(3).toString('hex')}`;
    this.name = opts.name;
    this.heartbeatMs = opts.heartbeatMs;
    this.nodeTtlMs = opts.nodeTtlMs;
    this.#log = opts.log;
    this.#now = opts.now ?? Date.now;
    this.#url = opts.url;
    this.redis = new Redis(opts.url, {
      lazyConnect: true,
      connectionName: `${opts.name}-node-${this.id}`,
      // A command waits through a short outage, then fails (reported) rather than piling up.
      maxRetriesPerRequest: 2,
      retryStrategy: (attempt: number) => Math.min(100 * attempt, 2000),
    });
    // An unhandled 'error' event would end the process; the heartbeat reports outages once each.
    this.redis.on('error', () => {});
    // Short leases (one node at a time does a stream's job) expire with their holder: `redredLease` in a MULTI.
    this.redis.defineCommand('redredLease', { numberOfKeys: 1, lua: LEASE_SCRIPT });
    this.redis.defineCommand('redredRelease', { numberOfKeys: 1, lua: RELEASE_SCRIPT });
  }

  /** The Redis connection is up. */
  get healthy(): boolean {
    return !this.#closed && this.redis.status === 'ready';
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A key (or channel) of this cluster: `<name>:<parts…>`. */
  key(...parts: (string | number)[]): string {
    return [this.name, ...parts].join(':');
  }

  /** Registers this node (the first heartbeat, awaited) and keeps it registered until close(). */
  async start(info: { internalUrl: string; mediaAddress: string }, load: () => NodeLoad): Promise<void> {
    if (this.#closed || this.#info) return;
    this.#info = { id: this.id, internalUrl: info.internalUrl, mediaAddress: info.mediaAddress, startedAt: this.#now() };
    this.#load = load;
    await this.#register();
    this.#timer = setInterval(() => {
      this.#beating = this.#beat();
    }, this.heartbeatMs);
    this.#timer.unref();
    this.#log.info({ nodeId: this.id, ...info }, 'cluster node registered');
  }

  /** Runs `listener` after every heartbeat; returns its removal. */
  onBeat(listener: BeatListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The live nodes (registered, not expired), this one included. Forgets expired ones. */
  async nodes(): Promise<NodeInfo[]> {
    const ids = await this.redis.smembers(this.key('nodes'));
    const found = await this.#read(ids);
    const gone = ids.filter((id) => !found.has(id));
    if (gone.length > 0) await this.redis.srem(this.key('nodes'), ...gone);
    return [...found.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  async node(id: string): Promise<NodeInfo | undefined> {
    return (await this.#read([id])).get(id);
  }

  /** Which of these nodes are alive now. */
  async alive(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.exists(this.key('node', id));
    const results = (await pipeline.exec()) ?? [];
    return new Set(ids.filter((_, i) => results[i]?.[1] === 1));
  }

  /** Leaves the registry (the others see it gone at once), stops the heartbeat, closes the connection. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#listeners.clear();
    await this.#beating;
    if (this.#info && this.redis.status === 'ready') {
      await this.redis
        .multi()
        .del(this.key('node', this.id))
        .srem(this.key('nodes'), this.id)
        .exec()
        .catch(() => undefined);
    }
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  async #register(): Promise<void> {
    const info = this.#info;
    if (!info) return;
    const load = this.#load();
    const key = this.key('node', this.id);
    await this.redis
      .multi()
      .hset(key, { id: info.id, internalUrl: info.internalUrl, mediaAddress: info.mediaAddress, startedAt: info.startedAt, seenAt: this.#now(), load: JSON.stringify(load) })
      .pexpire(key, this.nodeTtlMs)
      .sadd(this.key('nodes'), this.id)
      .exec();
  }

  async #beat(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#register();
      if (this.#lastBeatFailed) this.#log.warn({ nodeId: this.id }, 'cluster heartbeat is back: registered again');
      this.#lastBeatFailed = false;
    } catch (err) {
      if (!this.#lastBeatFailed) this.#log.error({ err, nodeId: this.id, redis: describeRedis(this.#url) }, 'cluster heartbeat failed: Redis is unreachable; other nodes will take this node for dead');
      this.#lastBeatFailed = true;
      return;
    }
    for (const listener of [...this.#listeners]) {
      try {
        await listener();
      } catch (err) {
        this.#log.warn({ err }, 'cluster heartbeat task failed');
      }
    }
  }

  async #read(ids: readonly string[]): Promise<Map<string, NodeInfo>> {
    const found = new Map<string, NodeInfo>();
    if (ids.length === 0) return found;
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.key('node', id));
    const results = (await pipeline.exec()) ?? [];
    ids.forEach((id, i) => {
      const h = results[i]?.[1] as Record<string, string> | undefined;
      if (!h || !h.id) return;
      found.set(id, {
        id: h.id,
        internalUrl: h.internalUrl ?? '',
        mediaAddress: h.mediaAddress ?? '',
        startedAt: Number(h.startedAt),
        seenAt: Number(h.seenAt),
        load: parseLoad(h.load),
      });
    });
    return found;
  }
}

function parseLoad(text: string | undefined): NodeLoad {
  try {
    const l = JSON.parse(text ?? '{}') as Partial<NodeLoad>;
    return { rooms: Number(l.rooms ?? 0), connections: Number(l.connections ?? 0), viewers: Number(l.viewers ?? 0), consumers: Number(l.consumers ?? 0) };
  } catch {
    return { rooms: 0, connections: 0, viewers: 0, consumers: 0 };
  }
}
