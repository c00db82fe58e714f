import type { OriginPipe, PipeEndpoint, StreamRouter } from '@redred/sfu';
import type { FastifyBaseLogger } from 'fastify';
import type { ProducerInfo } from '../protocol/common.ts';
import type { ServerMessage } from '../protocol/server-messages.ts';
import type { RoomEvent } from '../live/bus.ts';
import { ClusterError } from './errors.ts';
import type { ClusterNode } from './node.ts';
import { HttpOriginLink } from './origin-link.ts';
import { ORPHAN_MARK_TTL_MS, orphanKey } from './orphans.ts';
import type { OriginMap } from './origin-map.ts';

/** Keyframe requests of one edge's viewers reach the streamer at most this often (joins come in bursts). */
export const EDGE_KEYFRAME_REQUEST_DELAY_MS = 500;

export interface ClusterStreamMediaOptions {
  streamId: number;
  node: ClusterNode;
  origins: OriginMap;
  media: StreamRouter;
  secret: string;
  /** Where this node's pipe transports listen (RTC_LISTEN_IP), and the address the others send to. */
  pipeListenIp: string;
  mediaAddress: string;
  pipeLingerMs: number;
  /** After this long without an origin (its node died), the stream ends unless its streamer republished. */
  graceMs: number;
  log: FastifyBaseLogger;
  now: () => number;
  publish: (event: RoomEvent) => void;
  /** To this node's sockets only: what every node derives on its own (a dead origin's producers are gone). */
  sendLocal: (message: ServerMessage) => void;
  /** The stream lost its origin for longer than the grace: end it (durably, then on every node). */
  endOrphaned: () => Promise<void>;
}

interface Origin {
  nodeId: string;
  producers: ProducerInfo[];
}

/**
 * A stream's media in cluster mode, on one node. The node that receives the
 * streamer's upload is the origin: it claims the stream in the origin map,
 * announces its producers on the room bus (`origin` events) and answers the
 * edges' pipe requests. Every other node carrying the stream is an edge: its
 * StreamRouter gets the origin as a remote origin and pipes from it on its
 * first viewer. Each node watches the origin's liveness on the heartbeat: a
 * dead origin's producers are gone for its viewers (they see the stream
 * reconnecting), until the streamer publishes again on any node; after the
 * grace period without one, the stream ends.
 */
export class ClusterStreamMedia {
  readonly #o: ClusterStreamMediaOptions;
  #origin: Origin | null = null;
  /** Origin side: pipes towards edges, by pipe id, with the edge's node. */
  readonly #pipes = new Map<string, { pipe: OriginPipe; edgeNodeId: string }>();
  /** Origin changes apply one at a time, in the order they came. */
  #queue: Promise<void> = Promise.resolve();
  readonly #stopBeat: () => void;
  #closed = false;

  constructor(opts: ClusterStreamMediaOptions) {
    this.#o = opts;
    this.#stopBeat = opts.node.onBeat(() => this.#watch());
  }

  /** The node the stream's media comes from now; null while there is none. */
  get originNodeId(): string | null {
    return this.#origin?.nodeId ?? null;
  }

  get isOrigin(): boolean {
    return this.#origin?.nodeId === this.#o.node.id;
  }

  /** At room open: the origin as the map has it (a dead one is forgotten). */
  start(): Promise<void> {
    return this.#serial(async () => {
      const { node, origins, streamId } = this.#o;
      const record = await origins.get(streamId);
      if (record?.nodeId === node.id) {
        // This node restarted under the same NODE_ID: the claim is from its previous life, with no producers now.
        if (await origins.release(streamId)) this.#o.publish({ kind: 'origin', nodeId: null, producers: [] });
        await node.redis.set(orphanKey(node, streamId), String(this.#o.now()), 'PX', ORPHAN_MARK_TTL_MS, 'NX');
        return;
      }
      if (record && !(await node.alive([record.nodeId])).has(record.nodeId)) {
        await this.#lost(record.nodeId);
        return;
      }
      this.#apply(record ? { nodeId: record.nodeId, producers: record.producers } : null, { announce: false });
    });
  }

  /**
   * This node's producers changed (the streamer published or stopped here).
   * Resolves once the map and the bus say so: a `producer_added` published
   * after it reaches edges that already know where to pipe from.
   */
  producersChanged(local: ProducerInfo[]): Promise<void> {
    return this.#serial(async () => {
      const { node, origins, streamId } = this.#o;
      if (local.length > 0) {
        await origins.claim(streamId, local);
        await node.redis.del(orphanKey(node, streamId));
        this.#apply({ nodeId: node.id, producers: local }, { announce: false });
        this.#o.publish({ kind: 'origin', nodeId: node.id, producers: local });
        return;
      }
      // The streamer stopped here; if another node took over meanwhile, its word stands.
      if (!this.isOrigin) return;
      const released = await origins.release(streamId);
      this.#apply(null, { announce: false });
      if (released) this.#o.publish({ kind: 'origin', nodeId: null, producers: [] });
    });
  }

  /** An `origin` event from the bus (this node's own included). */
  applyOrigin(nodeId: string | null, producers: ProducerInfo[]): void {
    void this.#serial(async () => {
      if (nodeId !== null && nodeId !== this.#o.node.id && !(await this.#o.node.alive([nodeId])).has(nodeId)) return;
      this.#apply(nodeId ? { nodeId, producers } : null, { announce: true });
    });
  }

  /** Origin side: an edge asks for a pipe. */
  async openPipe(edgeNodeId: string, edge: PipeEndpoint): Promise<{ pipeId: string; origin: PipeEndpoint }> {
    if (!this.isOrigin) throw new ClusterError('not_origin', `node ${this.#o.node.id} is not the origin of stream ${this.#o.streamId}`);
    const pipe = await this.#o.media.openOriginPipe(this.#pipeConfig());
    try {
      await pipe.connect(edge);
    } catch (err) {
      pipe.close();
      throw err;
    }
    this.#pipes.set(pipe.id, { pipe, edgeNodeId });
    pipe.on('close', () => this.#pipes.delete(pipe.id));
    this.#o.log.info({ streamId: this.#o.streamId, pipeId: pipe.id, edgeNodeId, edge: `${edge.ip}:${edge.port}` }, 'pipe to an edge open');
    return { pipeId: pipe.id, origin: pipe.endpoint };
  }

  pipe(pipeId: string): OriginPipe {
    const entry = this.#pipes.get(pipeId);
    if (!entry || entry.pipe.closed) throw new ClusterError('pipe_not_found', `no pipe ${pipeId} for stream ${this.#o.streamId}`);
    return entry.pipe;
  }

  /** An edge closed its end (idempotent). */
  closePipe(pipeId: string): void {
    this.#pipes.get(pipeId)?.pipe.close();
  }

  /** Pipes towards edges (origin side). */
  get pipeCount(): number {
    return this.#pipes.size;
  }

  /** The room closed: an origin leaves the map (the streamer reconnects elsewhere). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopBeat();
    for (const { pipe } of this.#pipes.values()) pipe.close();
    this.#pipes.clear();
    if (this.isOrigin && !this.#o.node.closed) {
      this.#o.origins
        .release(this.#o.streamId)
        .then((released) => {
          if (released) this.#o.publish({ kind: 'origin', nodeId: null, producers: [] });
        })
        // Shutting down (the bus closed first) or Redis gone: the others find the origin dead on their own.
        .catch((err: unknown) => this.#o.log.debug({ err, streamId: this.#o.streamId }, 'origin not released'));
    }
  }

  #apply(next: Origin | null, { announce }: { announce: boolean }): void {
    if (this.#closed) return;
    const previous = this.#origin;
    this.#origin = next;
    const { node, media } = this.#o;
    // A different origin (or none): its producers are gone for this node's viewers, unless the new one has them.
    if (announce && previous && previous.nodeId !== node.id && previous.nodeId !== next?.nodeId) {
      const kept = new Set(next?.producers.map((p) => p.id));
      for (const p of previous.producers) if (!kept.has(p.id)) this.#o.sendLocal({ type: 'producer_removed', producerId: p.id });
    }
    if (!next || next.nodeId === node.id) {
      media.setRemoteOrigin(null);
      return;
    }
    const originId = next.nodeId;
    media.setRemoteOrigin({
      originId,
      producers: next.producers,
      link: new HttpOriginLink({
        originUrl: async () => {
          const info = await node.node(originId);
          if (!info) throw new ClusterError('node_unreachable', `origin node ${originId} is not registered`);
          return info.internalUrl;
        },
        streamId: this.#o.streamId,
        edgeNodeId: node.id,
        secret: this.#o.secret,
        log: this.#o.log,
      }),
      pipe: this.#pipeConfig(),
      lingerMs: this.#o.pipeLingerMs,
      keyFrameRequestDelayMs: EDGE_KEYFRAME_REQUEST_DELAY_MS,
    });
  }

  /** Every heartbeat: is the origin alive; are the edges we pipe to; is an orphaned stream past its grace; does the map still name us. */
  async #watch(): Promise<void> {
    if (this.#closed) return;
    const { node } = this.#o;
    if (this.isOrigin) await this.#serial(() => this.#confirmClaim());
    const origin = this.#origin;
    const edges = [...new Set([...this.#pipes.values()].map((p) => p.edgeNodeId))];
    const watched = [...edges, ...(origin && origin.nodeId !== node.id ? [origin.nodeId] : [])];
    const alive = await node.alive(watched);
    for (const [id, { pipe, edgeNodeId }] of this.#pipes) {
      if (alive.has(edgeNodeId)) continue;
      this.#o.log.warn({ streamId: this.#o.streamId, pipeId: id, edgeNodeId }, 'edge node is gone: closing its pipe');
      pipe.close();
    }
    if (origin && origin.nodeId !== node.id && !alive.has(origin.nodeId)) await this.#serial(() => this.#lost(origin.nodeId));
    if (!this.#origin) await this.#checkGrace();
  }

  /**
   * The origin checks the map still names it: after Redis was unreachable
   * long enough for this node to look dead, the others forgot it (and told
   * their viewers the producers were gone). It claims the stream again and
   * announces its producers anew, so edges pipe and viewers consume again.
   */
  async #confirmClaim(): Promise<void> {
    const { node, origins, streamId } = this.#o;
    const origin = this.#origin;
    if (!origin || origin.nodeId !== node.id) return;
    const record = await origins.get(streamId);
    if (record?.nodeId === node.id) return;
    if (record) {
      // The streamer published on another node meanwhile: its claim stands.
      this.#apply({ nodeId: record.nodeId, producers: record.producers }, { announce: true });
      return;
    }
    this.#o.log.warn({ streamId }, 'the origin map forgot this node (Redis was unreachable): claiming the stream again');
    await origins.claim(streamId, origin.producers);
    this.#o.publish({ kind: 'origin', nodeId: node.id, producers: origin.producers });
    for (const p of this.#o.media.getProducers()) {
      this.#o.publish({ kind: 'message', audience: { to: 'all_but', connectionId: p.peerId }, message: { type: 'producer_added', producer: { id: p.id, kind: p.kind, source: p.source } } });
    }
  }

  /** The origin's node is dead: forget it (whoever notices first clears the map and starts the grace). */
  async #lost(deadNodeId: string): Promise<void> {
    if (this.#origin && this.#origin.nodeId !== deadNodeId) return;
    const { node, origins, streamId } = this.#o;
    this.#o.log.warn({ streamId, originNodeId: deadNodeId }, 'the origin node is gone: viewers wait for the streamer to publish again');
    if (await origins.forgetDead(streamId, deadNodeId)) await node.redis.set(orphanKey(node, streamId), String(this.#o.now()), 'PX', ORPHAN_MARK_TTL_MS, 'NX');
    this.#apply(null, { announce: true });
  }

  async #checkGrace(): Promise<void> {
    const { node, streamId } = this.#o;
    const since = await node.redis.get(orphanKey(node, streamId));
    if (since === null || this.#o.now() - Number(since) < this.#o.graceMs) return;
    // One node ends it; the others hear stream_ended.
    if ((await node.redis.del(orphanKey(node, streamId))) !== 1) return;
    this.#o.log.warn({ streamId, graceMs: this.#o.graceMs }, 'no origin since the grace began: ending the stream');
    await this.#o.endOrphaned();
  }

  #pipeConfig() {
    const { pipeListenIp, mediaAddress } = this.#o;
    return { listenIp: pipeListenIp, ...(mediaAddress !== pipeListenIp ? { announcedIp: mediaAddress } : {}) };
  }

  #serial(job: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(() => (this.#closed ? undefined : job()));
    this.#queue = run.catch((err: unknown) => this.#o.log.warn({ err, streamId: this.#o.streamId }, 'cluster media update failed'));
    return run;
  }
}
