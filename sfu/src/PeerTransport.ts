import type { types as ms } from 'mediasoup';
import { callMediasoup, SfuError } from './errors.ts';
import type { MediaRouter } from './MediaRouter.ts';
import type { TransportConsumption } from './placement.ts';
import { StreamConsumer } from './StreamConsumer.ts';
import { StreamProducer } from './StreamProducer.ts';
import type {
  DtlsParameters,
  IceCandidate,
  IceParameters,
  MediaContext,
  PeerDtlsParameters,
  PeerRtpCapabilities,
  ProduceRequest,
  ProducerInfo,
  RtpCapabilities,
  RtpParameters,
  TransportDirection,
  TransportHealth,
  TransportOffer,
} from './StreamRouterTypes.ts';
import { TypedEmitter } from './TypedEmitter.ts';

/** 'closed': its peer left or closed it. 'routerclose': its router closed (stream closed, worker died). */
export type TransportCloseReason = 'closed' | 'routerclose';

export type PeerTransportEvents = {
  /** Parent-only: the origin router keeps the stream's producers by id. */
  '@newproducer': [StreamProducer];
  close: [TransportCloseReason];
};

/**
 * One peer's WebRtcTransport on one of the stream's routers. Owns the
 * producers (send) or consumers (recv) made on it and tells them when it
 * closes, and why.
 */
export class PeerTransport extends TypedEmitter<PeerTransportEvents> {
  readonly peerId: string;
  readonly direction: TransportDirection;
  readonly router: MediaRouter;
  readonly #transport: ms.WebRtcTransport;
  readonly #ctx: MediaContext;
  readonly #producers = new Map<string, StreamProducer>();
  readonly #consumers = new Map<string, StreamConsumer>();
  #connected = false;
  #consuming = 0;
  #closed = false;

  constructor(
    transport: ms.WebRtcTransport,
    options: { peerId: string; direction: TransportDirection; router: MediaRouter; ctx: MediaContext },
  ) {
    const { ctx } = options;
    super((event, error) =>
      ctx.log.error({ streamId: ctx.streamId, transportId: transport.id, event, err: error }, 'PeerTransport listener failed'),
    );
    this.#transport = transport;
    this.#ctx = ctx;
    this.peerId = options.peerId;
    this.direction = options.direction;
    this.router = options.router;
  }

  get id(): string {
    return this.#transport.id;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get offer(): TransportOffer {
    const transport = this.#transport;
    return {
      id: transport.id,
      iceParameters: transport.iceParameters,
      iceCandidates: transport.iceCandidates,
      dtlsParameters: transport.dtlsParameters,
    };
  }

  get producers(): readonly StreamProducer[] {
    return [...this.#producers.values()];
  }

  consumer(consumerId: string): StreamConsumer | undefined {
    return this.#consumers.get(consumerId);
  }

  get consumerCount(): number {
    return this.#consumers.size;
  }

  /** What placement counts for this transport. */
  get consumption(): TransportConsumption {
    return { consumers: this.#consumers.size, consuming: this.#consuming };
  }

  async connect(dtlsParameters: PeerDtlsParameters): Promise<void> {
    this.#assertOpen();
    // The worker rejects a second connect with a plain Error; make it a clear, stable code.
    if (this.#connected) throw new SfuError('not_allowed', 'transport is already connected');
    this.#connected = true;
    try {
      // The worker refuses an unknown fingerprint algorithm (invalid_parameters).
      await callMediasoup('connect transport', () => this.#transport.connect({ dtlsParameters: dtlsParameters as DtlsParameters }));
    } catch (error) {
      this.#connected = false;
      throw error;
    }
  }

  /** New ICE credentials; the server's candidates do not change, but the peer gets them again. */
  async restartIce(): Promise<{ iceParameters: IceParameters; iceCandidates: IceCandidate[] }> {
    this.#assertOpen();
    const iceParameters = await callMediasoup('restart ICE', () => this.#transport.restartIce());
    return { iceParameters, iceCandidates: this.#transport.iceCandidates };
  }

  async health(): Promise<TransportHealth> {
    this.#assertOpen();
    const [stat] = await callMediasoup('transport stats', () => this.#transport.getStats());
    return {
      iceState: this.#transport.iceState,
      dtlsState: this.#transport.dtlsState,
      bytesReceived: stat?.bytesReceived ?? 0,
      bytesSent: stat?.bytesSent ?? 0,
    };
  }

  /** Best effort: a failure only leaves the streamer uncapped. */
  async limitIncomingBitrate(bitrate: number): Promise<void> {
    await this.#transport.setMaxIncomingBitrate(bitrate).catch((error: unknown) => {
      this.#ctx.log.warn({ streamId: this.#ctx.streamId, err: error }, 'setMaxIncomingBitrate failed');
    });
  }

  async produce(request: ProduceRequest): Promise<StreamProducer> {
    this.#assertOpen();
    if (this.direction !== 'send') throw new SfuError('not_allowed', 'produce needs a send transport');
    const { kind, rtpParameters, source } = request;
    const producer = await callMediasoup('produce', () =>
      // mediasoup's ortc validation checks the parameters (an unknown extension URI is ignored).
      this.#transport.produce({ kind, rtpParameters: rtpParameters as RtpParameters, appData: { peerId: this.peerId, source } }),
    );
    if (this.#closed || producer.closed) {
      producer.close();
      throw new SfuError('stream_closed', 'the transport closed while producing');
    }
    const streamProducer = new StreamProducer(producer, { peerId: this.peerId, source, kind, log: this.#ctx.log });
    this.#producers.set(streamProducer.id, streamProducer);
    streamProducer.on('close', () => this.#producers.delete(streamProducer.id));
    this.safeEmit('@newproducer', streamProducer);
    return streamProducer;
  }

  /** Consumes an origin producer, through this transport's router (which pipes it there if it is a fan-out one). */
  async consume(producer: ProducerInfo, peerCapabilities: PeerRtpCapabilities): Promise<StreamConsumer> {
    // mediasoup validates them; a codec without preferredPayloadType matches nothing (cannot_consume).
    const rtpCapabilities = peerCapabilities as RtpCapabilities;
    this.#assertOpen();
    if (this.direction !== 'recv') throw new SfuError('not_allowed', 'consume needs a recv transport');
    // Counted by placement from now on, so joins meanwhile see this consumer coming.
    this.#consuming++;
    try {
      let routerProducerId: string;
      try {
        routerProducerId = await this.router.consumableProducerId(producer.id);
      } catch (error) {
        throw new SfuError('cannot_consume', `producer ${producer.id} could not reach this router`, { cause: error });
      }
      if (!this.router.canConsume(routerProducerId, rtpCapabilities)) {
        throw new SfuError('cannot_consume', `these RTP capabilities cannot receive producer ${producer.id}`);
      }
      const consumer = await callMediasoup('consume', () =>
        this.#transport.consume({
          producerId: routerProducerId,
          rtpCapabilities,
          // The client resumes once its receiver exists, so the first keyframe is not lost.
          paused: true,
          appData: { peerId: this.peerId, source: producer.source },
        }),
      );
      if (this.#closed || consumer.closed) {
        consumer.close();
        throw new SfuError('producer_not_found', `producer ${producer.id} or the transport closed while consuming`);
      }
      const streamConsumer = new StreamConsumer(consumer, {
        peerId: this.peerId,
        source: producer.source,
        producerId: producer.id,
        ctx: this.#ctx,
      });
      this.#consumers.set(streamConsumer.id, streamConsumer);
      streamConsumer.on('close', () => this.#consumers.delete(streamConsumer.id));
      return streamConsumer;
    } finally {
      this.#consuming--;
    }
  }

  /** Its peer left or closed it: producers close as 'transportclose' (viewers hear `producerremoved`). */
  close(): void {
    if (this.#closed) return;
    this.#transport.close();
    this.#closeChildren('closed');
  }

  /** Its router closed; mediasoup already closed the transport with it. */
  routerClosed(): void {
    if (this.#closed) return;
    this.#transport.close();
    this.#closeChildren('routerclose');
  }

  #closeChildren(reason: TransportCloseReason): void {
    this.#closed = true;
    for (const producer of [...this.#producers.values()]) {
      if (reason === 'routerclose') producer.routerClosed();
      else producer.transportClosed();
    }
    for (const consumer of [...this.#consumers.values()]) consumer.transportClosed();
    this.#producers.clear();
    this.#consumers.clear();
    this.safeEmit('close', reason);
  }

  #assertOpen(): void {
    if (this.#closed) throw new SfuError('transport_not_found', `transport ${this.id} is closed`);
  }
}
