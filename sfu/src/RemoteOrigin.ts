import { EdgePipe } from './ClusterPipe.ts';
import type { RemoteOriginSpec, RemoteProducerInfo } from './ClusterPipeTypes.ts';
import { SfuError } from './errors.ts';
import type { OriginRouter } from './OriginRouter.ts';
import type { MediaContext } from './StreamRouterTypes.ts';
import { TypedEmitter } from './TypedEmitter.ts';

export type RemoteOriginEvents = {
  /** The pipe to the origin opened (first viewer) or closed (after the last, or the origin went away). */
  pipe: ['open' | 'close'];
};

/**
 * The edge side of a stream whose producers live on another host: the
 * origin's producer list, and at most one pipe from it, opened when the first
 * viewer here consumes and closed `lingerMs` after the last one stopped.
 * Producers are piped one by one, as viewers ask for them; concurrent asks
 * share one pipe and one produce.
 */
export class RemoteOrigin extends TypedEmitter<RemoteOriginEvents> {
  readonly originId: string;
  readonly #spec: RemoteOriginSpec;
  readonly #router: OriginRouter;
  readonly #ctx: MediaContext;
  #producers: RemoteProducerInfo[];
  #pipe: Promise<{ pipe: EdgePipe; pipeId: string }> | undefined;
  readonly #piping = new Map<string, Promise<void>>();
  #lingerCancel: (() => void) | undefined;
  #closed = false;

  constructor(router: OriginRouter, spec: RemoteOriginSpec, ctx: MediaContext) {
    super((event, error) => ctx.log.error({ streamId: ctx.streamId, event, err: error }, 'RemoteOrigin listener failed'));
    this.originId = spec.originId;
    this.#spec = spec;
    this.#router = router;
    this.#ctx = ctx;
    this.#producers = [...spec.producers];
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Whether a pipe to the origin is open (or opening). */
  get piped(): boolean {
    return this.#pipe !== undefined;
  }

  producers(): RemoteProducerInfo[] {
    return [...this.#producers];
  }

  has(producerId: string): boolean {
    return this.#producers.some((p) => p.id === producerId);
  }

  /** The origin's list changed: producers gone there close here (their viewers' consumers with them). */
  setProducers(producers: readonly RemoteProducerInfo[]): void {
    this.#producers = [...producers];
    const ids = new Set(producers.map((p) => p.id));
    void this.#pipe?.then(
      ({ pipe }) => {
        for (const p of this.#router.producers()) if (!ids.has(p.id)) pipe.closeProducer(p.id);
      },
      () => undefined,
    );
  }

  /** Makes an origin producer consumable on this host's origin router. */
  ensure(producerId: string): Promise<void> {
    this.#assertOpen();
    if (!this.has(producerId)) return Promise.reject(new SfuError('producer_not_found', `producer ${producerId} not found`));
    this.busy();
    if (this.#router.producer(producerId)) return Promise.resolve();
    let piping = this.#piping.get(producerId);
    if (!piping) {
      piping = this.#pipeProducer(producerId).finally(() => this.#piping.delete(producerId));
      this.#piping.set(producerId, piping);
    }
    return piping;
  }

  /** A viewer here consumes: no closing. */
  busy(): void {
    this.#lingerCancel?.();
    this.#lingerCancel = undefined;
  }

  /** The last viewer's consumer here closed: the pipe closes after the linger unless one comes back. */
  idle(): void {
    if (this.#closed || !this.#pipe || this.#lingerCancel) return;
    this.#lingerCancel = this.#ctx.timer.schedule(() => {
      this.#lingerCancel = undefined;
      this.#closePipe();
    }, this.#spec.lingerMs);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.busy();
    this.#closePipe();
  }

  async #pipeProducer(producerId: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const { pipe, pipeId } = await this.#openPipe();
      let piped;
      try {
        piped = await this.#spec.link.consume(pipeId, producerId);
      } catch (error) {
        // The origin lost its end (its media was rebuilt, it restarted): one more try on a fresh pipe.
        if (attempt > 0 || this.#closed) throw error;
        this.#ctx.log.warn({ streamId: this.#ctx.streamId, originId: this.originId, pipeId, err: error }, 'the origin refused a producer on this pipe; opening a new one');
        if (this.#router.producers().length === 0) this.#closePipe();
        else throw error;
        continue;
      }
      if (this.#closed || pipe.closed) throw new SfuError('stream_closed', 'the pipe to the origin closed while piping');
      await pipe.produce(piped, this.#spec.keyFrameRequestDelayMs);
      return;
    }
  }

  #openPipe(): Promise<{ pipe: EdgePipe; pipeId: string }> {
    if (this.#pipe) return this.#pipe;
    const opening = (async () => {
      const pipe = await EdgePipe.create(this.#router, this.#spec.pipe, this.#ctx);
      try {
        const { pipeId, origin } = await this.#spec.link.open(pipe.endpoint);
        if (this.#closed) {
          this.#spec.link.close(pipeId);
          throw new SfuError('stream_closed', 'the remote origin closed while its pipe opened');
        }
        await pipe.connect(origin);
        pipe.on('close', () => {
          this.#spec.link.close(pipeId);
          if (this.#pipe === opening) this.#pipe = undefined;
          this.safeEmit('pipe', 'close');
        });
        this.#ctx.log.info({ streamId: this.#ctx.streamId, originId: this.originId, pipeId, edge: pipe.endpoint.ip + ':' + pipe.endpoint.port, origin: `${origin.ip}:${origin.port}` }, 'pipe from the origin open');
        this.safeEmit('pipe', 'open');
        return { pipe, pipeId };
      } catch (error) {
        pipe.close();
        throw error;
      }
    })();
    this.#pipe = opening;
    // A failed open is forgotten, so the next viewer tries again.
    opening.catch(() => {
      if (this.#pipe === opening) this.#pipe = undefined;
    });
    return opening;
  }

  #closePipe(): void {
    const pipe = this.#pipe;
    this.#pipe = undefined;
    void pipe?.then(
      ({ pipe: p }) => p.close(),
      () => undefined,
    );
  }

  #assertOpen(): void {
    if (this.#closed) throw new SfuError('stream_closed', `the remote origin ${this.originId} is gone`);
  }
}
