import type { types as ms } from 'mediasoup';
import { MediaRouter } from './MediaRouter.ts';
import type { PeerTransport } from './PeerTransport.ts';
import type { StreamProducer } from './StreamProducer.ts';
import type { MediaContext } from './StreamRouterTypes.ts';

/**
 * The router the streamer sends to. Its send transports own the producers;
 * it keeps them by id for the whole stream (listing, consuming, piping). On a
 * cluster edge it holds the origin's producers piped from the other host instead.
 */
export class OriginRouter extends MediaRouter {
  readonly role = 'origin';
  readonly #producers = new Map<string, StreamProducer>();

  static async create(worker: ms.Worker, ctx: MediaContext): Promise<OriginRouter> {
    const router = await MediaRouter.createRouter(worker, ctx, 'origin');
    return new OriginRouter(router, worker, ctx);
  }

  get ready(): boolean {
    return true;
  }

  get producerCount(): number {
    return this.#producers.size;
  }

  producer(producerId: string): StreamProducer | undefined {
    return this.#producers.get(producerId);
  }

  producers(): StreamProducer[] {
    return [...this.#producers.values()];
  }

  /** A producer re-produced here from another host's origin (cluster edge): listed and consumed like the streamer's own. */
  adoptPiped(producer: StreamProducer): void {
    this.#producers.set(producer.id, producer);
    producer.on('close', () => {
      if (this.#producers.get(producer.id) === producer) this.#producers.delete(producer.id);
    });
  }

  async consumableProducerId(originProducerId: string): Promise<string> {
    return originProducerId;
  }

  protected override adopt(transport: PeerTransport): void {
    transport.on('@newproducer', (producer) => {
      this.#producers.set(producer.id, producer);
      producer.on('close', () => this.#producers.delete(producer.id));
    });
  }
}
