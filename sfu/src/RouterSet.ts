import type { types as ms } from 'mediasoup';
import { SfuError } from './errors.ts';
import { FanoutRouter } from './FanoutRouter.ts';
import type { MediaRouter } from './MediaRouter.ts';
import type { OriginRouter } from './OriginRouter.ts';
import type { PeerTransport } from './PeerTransport.ts';
import { placeRecvTransport } from './placement.ts';
import type { MediaContext } from './StreamRouterTypes.ts';
import { TypedEmitter } from './TypedEmitter.ts';
import type { WorkerPool } from './WorkerPool.ts';

export type RouterSetEvents = {
  /** A fan-out router's worker died; these viewers lost their recv transport. The producers are intact. */
  fanoutlost: [peerIds: string[]];
  /** The origin's worker died: every router of the set is closed. These peers had transports on them. */
  originlost: [peerIds: string[]];
  close: [];
};

/**
 * One origin router and the fan-out routers piped from it: the routers of a
 * stream from one origin's creation to its loss. Places viewers' recv
 * transports and adds fan-out routers as the origin fills.
 *
 * At most one router per worker: mediasoup cannot pipe into a router of the
 * same worker while the piped producer keeps its id (mediasoup issue #1602,
 * seen on 3.11), and a second router on a busy worker adds no CPU anyway.
 * When every worker holds one and all are full, routers go over their limit.
 */
export class RouterSet extends TypedEmitter<RouterSetEvents> {
  readonly origin: OriginRouter;
  readonly #pool: WorkerPool;
  readonly #ctx: MediaContext;
  readonly #maxConsumersPerRouter: number;
  #fanouts: FanoutRouter[] = [];
  /** Concurrent joins share one new router; any that find it full decide again. */
  #pendingFanout: Promise<void> | undefined;
  #overflowLogged = false;
  #closed = false;

  constructor(origin: OriginRouter, options: { pool: WorkerPool; ctx: MediaContext; maxConsumersPerRouter: number }) {
    const { ctx } = options;
    super((event, error) => ctx.log.error({ streamId: ctx.streamId, event, err: error }, 'RouterSet listener failed'));
    this.origin = origin;
    this.#pool = options.pool;
    this.#ctx = ctx;
    this.#maxConsumersPerRouter = options.maxConsumersPerRouter;
    origin.on('workerclose', (peerIds) => this.#onOriginLost(peerIds));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Open routers: the origin first, then fan-out routers. */
  routers(): MediaRouter[] {
    return [this.origin, ...this.#fanouts].filter((router) => !router.closed);
  }

  fanouts(): FanoutRouter[] {
    return this.#fanouts.filter((router) => !router.closed);
  }

  async createRecvTransport(peerId: string): Promise<PeerTransport> {
    for (;;) {
      this.#assertOpen();
      const routers = this.routers();
      const producers = this.origin.producerCount;
      const canAddRouter = this.#pendingFanout !== undefined || this.#freeWorkerExists();
      const decision = placeRecvTransport(
        routers.map((router) => ({ load: router.load(producers), ready: router.ready })),
        this.#maxConsumersPerRouter,
        canAddRouter,
      );
      if (decision.action === 'add') {
        if (!canAddRouter) throw new SfuError('worker_unavailable', 'no router can take this viewer');
        this.#pendingFanout ??= this.#addFanout().finally(() => {
          this.#pendingFanout = undefined;
        });
        await this.#pendingFanout;
        continue;
      }
      const router = routers[decision.index];
      if (!router) throw new SfuError('worker_unavailable', 'placement chose no router');
      if (decision.action === 'overflow') this.#logOverflow();
      // No await between the decision and this call: it reserves the slot synchronously.
      return router.createTransport(peerId, 'recv');
    }
  }

  /** Makes a new producer consumable on every fan-out router before viewers hear of it. */
  async pipeToFanouts(producerId: string): Promise<void> {
    await Promise.all(this.fanouts().map((fanout) => fanout.pipeAll([producerId])));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const fanout of this.#fanouts) fanout.close();
    this.origin.close();
    this.#fanouts = [];
    this.safeEmit('close');
  }

  #freeWorkerExists(): boolean {
    const used = this.#usedWorkers();
    return this.#pool.workers.some((worker) => !used.has(worker));
  }

  #usedWorkers(): Set<ms.Worker> {
    return new Set([this.origin, ...this.#fanouts].map((router) => router.worker));
  }

  async #addFanout(): Promise<void> {
    const used = this.#usedWorkers();
    const worker = await this.#pool.leastLoadedWorker({ avoid: used });
    // Only an avoided worker is left: place over the limit instead (see the class comment).
    if (used.has(worker)) return;
    const fanout = await FanoutRouter.create(worker, this.origin, this.#ctx);
    if (this.#closed) {
      fanout.close();
      throw new SfuError('stream_closed', 'media was reset while adding a fan-out router');
    }
    this.#fanouts.push(fanout);
    fanout.on('workerclose', (peerIds) => this.#onFanoutLost(fanout, peerIds));
    fanout.on('close', () => {
      this.#fanouts = this.#fanouts.filter((other) => other !== fanout);
    });
    await fanout.prime();
    this.#ctx.log.info(
      { streamId: this.#ctx.streamId, routerId: fanout.id, workerPid: worker.pid, fanouts: this.#fanouts.length },
      'fan-out router added',
    );
  }

  #onFanoutLost(fanout: FanoutRouter, peerIds: string[]): void {
    if (this.#closed) return;
    this.#ctx.log.warn(
      { streamId: this.#ctx.streamId, routerId: fanout.id, peerIds },
      'fan-out worker died; its viewers must consume again',
    );
    this.safeEmit('fanoutlost', peerIds);
  }

  #onOriginLost(originPeerIds: string[]): void {
    if (this.#closed) return;
    const peerIds = new Set(originPeerIds);
    for (const fanout of this.fanouts()) for (const peerId of fanout.peerIds()) peerIds.add(peerId);
    this.close();
    this.safeEmit('originlost', [...peerIds]);
  }

  #logOverflow(): void {
    if (this.#overflowLogged) return;
    this.#overflowLogged = true;
    this.#ctx.log.warn(
      { streamId: this.#ctx.streamId, maxConsumersPerRouter: this.#maxConsumersPerRouter, routers: this.routers().length },
      'every worker holds a full router of this stream; placing viewers over the limit',
    );
  }

  #assertOpen(): void {
    if (this.#closed) throw new SfuError('stream_closed', `stream ${this.#ctx.streamId} media is closed`);
  }
}
