import type { Result } from 'ioredis';
import type { ProducerInfo } from '../protocol/common.ts';
import type { ClusterNode } from './node.ts';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    redredDeleteIfOwner(key: string, owner: string): Result<number, Context>;
  }
}

/** Forgets the origin only if it is still `owner` (a newer origin is never erased by an older one). */
const DELETE_IF_OWNER = `
if redis.call('HGET', KEYS[1], 'node') ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
`;

/** Where a stream's media comes from: the node that receives the streamer's upload, and what it publishes. */
export interface OriginRecord {
  nodeId: string;
  producers: ProducerInfo[];
  /** When this node became the origin. */
  since: number;
}

/**
 * The stream → origin map of the cluster, in Redis (`origin:<stream>`): the
 * node that receives the streamer's upload claims the stream (whoever held it
 * before: the streamer moved), keeps its producer list there, and releases it
 * when the streamer stops. Liveness is not stored here: an origin whose node
 * is gone from the registry is dead, whatever this map still says.
 */
export class OriginMap {
  readonly #node: ClusterNode;
  readonly #now: () => number;

  constructor(node: ClusterNode, now: () => number) {
    this.#node = node;
    this.#now = now;
    node.redis.defineCommand('redredDeleteIfOwner', { numberOfKeys: 1, lua: DELETE_IF_OWNER });
  }

  async get(streamId: number): Promise<OriginRecord | null> {
    const h = await this.#node.redis.hgetall(this.#key(streamId));
    if (!h.node) return null;
    return { nodeId: h.node, producers: parseProducers(h.producers), since: Number(h.since ?? 0) };
  }

  /** This node receives the upload now: it is the origin, with these producers (whoever was before). */
  async claim(streamId: number, producers: ProducerInfo[]): Promise<OriginRecord> {
    const record = { nodeId: this.#node.id, producers, since: this.#now() };
    await this.#node.redis.hset(this.#key(streamId), { node: record.nodeId, producers: JSON.stringify(producers), since: record.since });
    return record;
  }

  /** The streamer stopped publishing here (or this node leaves): forgotten, unless another node took over meanwhile. */
  async release(streamId: number): Promise<boolean> {
    return (await this.#node.redis.redredDeleteIfOwner(this.#key(streamId), this.#node.id)) === 1;
  }

  /** A dead origin is forgotten (by whichever node notices first), unless the stream moved meanwhile. */
  async forgetDead(streamId: number, deadNodeId: string): Promise<boolean> {
    return (await this.#node.redis.redredDeleteIfOwner(this.#key(streamId), deadNodeId)) === 1;
  }

  #key(streamId: number): string {
    return this.#node.key('origin', streamId);
  }
}

function parseProducers(text: string | undefined): ProducerInfo[] {
  try {
    const list = JSON.parse(text ?? '[]') as ProducerInfo[];
    return Array.isArray(list) ? list.filter((p) => typeof p?.id === 'string' && (p.kind === 'audio' || p.kind === 'video')) : [];
  } catch {
    return [];
  }
}
