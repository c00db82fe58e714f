import type { types as ms } from 'mediasoup';
import { SfuError } from './errors.ts';
import { MediaRouter } from './MediaRouter.ts';
import type { OriginRouter } from './OriginRouter.ts';
import type { MediaContext } from './StreamRouterTypes.ts';

/** Every worker runs on this host, so pipe transports stay on loopback. */
const PIPE_LISTEN_IP = '127.0.0.1';

/**
 * A router on another worker that serves viewers once the origin is full,
 * fed by pipeToRouter from the origin: the streamer still uploads once.
 *
 * Viewers consume the piped producer by the id pipeToRouter returns, not by
 * the origin's id: the two are equal with pipeToRouter's default (`keepId:
 * true`), which 3.13+ refuse within one worker; `keepId: false` gives the copy
 * a fresh id, so nothing here depends on them being equal.
 */
export class FanoutRouter extends MediaRouter {
  readonly role = 'fanout';
  readonly #origin: OriginRouter;
  /** Origin producer id → id of its piped copy here; one pipe however many callers ask. */
  readonly #pipes = new Map<string, Promise<string>>();
  #ready = false;

  static async create(worker: ms.Worker, origin: OriginRouter, ctx: MediaContext): Promise<FanoutRouter> {
    const router = await MediaRouter.createRouter(worker, ctx, 'fanout');
    return new FanoutRouter(router, worker, origin, ctx);
  }

  private constructor(router: ms.Router, worker: ms.Worker, origin: OriginRouter, ctx: MediaContext) {
    super(router, worker, ctx);
    this.#origin = origin;
  }

  get ready(): boolean {
    return this.#ready && !this.closed;
  }

  /**
   * Pipes the origin's current producers, then takes viewers. A failed pipe
   * is retried by consume(), so one bad producer does not block the router.
   */
  async prime(): Promise<void> {
    await this.pipeAll(this.#origin.producers().map((producer) => producer.id));
    this.#ready = true;
  }

  async pipeAll(producerIds: readonly string[]): Promise<void> {
    const results = await Promise.allSettled(producerIds.map((id) => this.pipe(id)));
    results.forEach((result, index) => {
      const producerId = producerIds[index] ?? '';
      if (result.status === 'rejected' && this.#origin.producer(producerId) && !this.closed) {
        this.ctx.log.warn(
          { streamId: this.ctx.streamId, producerId, routerId: this.id, err: result.reason },
          'pipeToRouter failed',
        );
      }
    });
  }

  consumableProducerId(originProducerId: string): Promise<string> {
    return this.pipe(originProducerId);
  }

  pipe(producerId: string): Promise<string> {
    const existing = this.#pipes.get(producerId);
    if (existing) return existing;
    // Inside the chain: portRange() throws once the origin's worker is gone, and callers expect a rejection.
    const pipe = Promise.resolve()
      .then(() =>
        this.#origin.router.pipeToRouter({
          producerId,
          router: this.router,
          // Both ends bind in the origin worker's range: mediasoup tries another port of it if one is taken.
          listenInfo: { protocol: 'udp', ip: PIPE_LISTEN_IP, portRange: this.ctx.portRange(this.#origin.worker) },
          enableSctp: false,
        }),
      )
      .then(({ pipeProducer }) => {
        if (!pipeProducer) throw new SfuError('cannot_consume', `pipeToRouter gave no producer for ${producerId}`);
        // The copy closes with the origin producer (or this router); a later pipe starts afresh.
        pipeProducer.observer.once('close', () => this.#forget(producerId, pipe));
        return pipeProducer.id;
      });
    this.#pipes.set(producerId, pipe);
    pipe.catch(() => this.#forget(producerId, pipe));
    return pipe;
  }

  #forget(producerId: string, pipe: Promise<string>): void {
    if (this.#pipes.get(producerId) === pipe) this.#pipes.delete(producerId);
  }
}
