import type { types as ms } from 'mediasoup';
import { MediaRouter } from './MediaRouter.ts';
import type { PeerTransport } from './PeerTransport.ts';
import type { StreamProducer } from './StreamProducer.ts';
import type { MediaContext } from './StreamRouterTypes.ts';

/**
 * The router the streamer sends to. Its send transports own the producers;
 * it keeps them by id for the whole stream (listing, consuming, piping).
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
