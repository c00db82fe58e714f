import { SfuError } from './errors.ts';
import type { PeerTransport } from './PeerTransport.ts';
import type { StreamConsumer } from './StreamConsumer.ts';
import type { StreamProducer } from './StreamProducer.ts';
import type { ProduceRequest, ProducerSource } from './StreamRouterTypes.ts';

/**
 * What one peer (an opaque id) has in a stream: its transports, and through
 * them its producers and consumers. A peer reaches only its own objects:
 * another peer's id reads as a missing one.
 */
export class PeerMedia {
  readonly id: string;
  readonly #transports = new Map<string, PeerTransport>();
  /** Sources whose produce() is in flight: one producer per source. */
  readonly #publishing = new Set<ProducerSource>();
  #closed = false;

  constructor(id: string) {
    this.id = id;
  }

  /** Set once the peer left or the stream's media went away: requests in flight undo themselves. */
  get closed(): boolean {
    return this.#closed;
  }

  get transportCount(): number {
    return this.#transports.size;
  }

  get consumerCount(): number {
    let consumers = 0;
    for (const transport of this.#transports.values()) consumers += transport.consumerCount;
    return consumers;
  }

  /** Takes a transport just made for this peer, or closes it if the peer went away meanwhile. */
  adopt(transport: PeerTransport): void {
    if (this.#closed) {
      transport.close();
      throw new SfuError('stream_closed', 'the peer or its media went away while the transport was created');
    }
    this.#transports.set(transport.id, transport);
    transport.on('close', () => this.#transports.delete(transport.id));
  }

  transport(transportId: string): PeerTransport {
    const transport = this.#transports.get(transportId);
    if (!transport || transport.closed) throw new SfuError('transport_not_found', `transport ${transportId} not found`);
    return transport;
  }

  consumer(consumerId: string): StreamConsumer {
    for (const transport of this.#transports.values()) {
      const consumer = transport.consumer(consumerId);
      if (consumer && !consumer.closed) return consumer;
    }
    throw new SfuError('consumer_not_found', `consumer ${consumerId} not found`);
  }

  producers(): StreamProducer[] {
    return [...this.#transports.values()].flatMap((transport) => transport.producers);
  }

  async produce(transport: PeerTransport, request: ProduceRequest): Promise<StreamProducer> {
    if (transport.direction !== 'send') throw new SfuError('not_allowed', 'produce needs a send transport');
    const { source } = request;
    if (this.#publishing.has(source) || this.producers().some((producer) => producer.source === source)) {
      throw new SfuError('not_allowed', `${source} is already published; close it first`);
    }
    this.#publishing.add(source);
    try {
      return await transport.produce(request);
    } finally {
      this.#publishing.delete(source);
    }
  }

  /** The peer left: its transports close, and with them its producers (viewers hear `producerremoved`) and consumers. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const transport of [...this.#transports.values()]) transport.close();
  }

  /** The stream's routers closed (stream closed or origin lost): nothing is announced. */
  mediaClosed(): void {
    this.#closed = true;
    for (const transport of [...this.#transports.values()]) transport.routerClosed();
  }
}
