import { listStreamsByStatus } from '@redred/db';
import type { FastifyBaseLogger } from 'fastify';
import type { LiveContext } from '../live/context.ts';
import { endStream } from '../live/lifecycle.ts';
import type { RoomRegistry } from '../live/rooms.ts';
import { END_REASONS } from '../live/stream-rules.ts';
import type { ClusterNode } from './node.ts';
import type { OriginMap } from './origin-map.ts';

/** A stream's orphan mark is dropped after this long whatever happened. */
export const ORPHAN_MARK_TTL_MS = 24 * 3600 * 1000;

/** `<name>:orphaned:<stream>`: since when a live stream has had no live origin (the grace period's start). */
export const orphanKey = (node: ClusterNode, streamId: number) => node.key('orphaned', streamId);

/**
 * Cluster mode's restart recovery, for streams no node carries: a stream the
 * database calls live whose origin's node is gone (it died, or the whole
 * cluster restarted while Redis kept the map) gets the grace period (`RESTART_GRACE_MS`) for its
 * streamer to publish again on any node, then ends (`server_restart`). Every
 * node runs it with the sweeper's period; marks and ends are idempotent.
 * (A node carrying the stream's room notices sooner: `ClusterStreamMedia`.)
 */
export class OrphanSweep {
  readonly #ctx: LiveContext;
  readonly #rooms: RoomRegistry;
  readonly #node: ClusterNode;
  readonly #origins: OriginMap;
  readonly #graceMs: number;
  readonly #log: FastifyBaseLogger;

  constructor(opts: { ctx: LiveContext; rooms: RoomRegistry; node: ClusterNode; origins: OriginMap; graceMs: number; log: FastifyBaseLogger }) {
    this.#ctx = opts.ctx;
    this.#rooms = opts.rooms;
    this.#node = opts.node;
    this.#origins = opts.origins;
    this.#graceMs = opts.graceMs;
    this.#log = opts.log;
  }

  /** Marks live streams whose origin's node died, ends those marked longer than the grace. Returns the ids it ended. */
  async run(): Promise<number[]> {
    const ended: number[] = [];
    const now = this.#ctx.now();
    for (const stream of await listStreamsByStatus(this.#ctx.db, ['live'])) {
      const record = await this.#origins.get(stream.id);
      if (record && (await this.#node.alive([record.nodeId])).has(record.nodeId)) continue;
      const key = orphanKey(this.#node, stream.id);
      // Its origin's node died: the grace starts. (A streamer who merely left is not an orphan: as on a
      // lone node, the stream waits for them under the sweeper's rules.)
      if (record && (await this.#origins.forgetDead(stream.id, record.nodeId))) await this.#node.redis.set(key, String(now), 'PX', ORPHAN_MARK_TTL_MS, 'NX');
      const mark = await this.#node.redis.get(key);
      if (mark === null || now - Number(mark) < this.#graceMs) continue;
      if ((await this.#node.redis.del(key)) !== 1) continue;
      try {
        const { alreadyEnded } = await endStream(this.#ctx, this.#rooms.get(stream.id), stream.id, END_REASONS.serverRestart);
        if (alreadyEnded) continue;
        this.#log.warn({ streamId: stream.id, graceMs: this.#graceMs }, 'stream ended: no node received its upload within the grace period');
        ended.push(stream.id);
      } catch (err) {
        this.#log.error({ err, streamId: stream.id }, 'could not end an orphaned stream');
      }
    }
    return ended;
  }
}
