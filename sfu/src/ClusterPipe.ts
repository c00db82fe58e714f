import type { types as ms } from 'mediasoup';
import type { ClusterPipeConfig, PipedProducer, PipeEndpoint } from './ClusterPipeTypes.ts';
import { callMediasoup, SfuError } from './errors.ts';
import type { OriginRouter } from './OriginRouter.ts';
import { StreamProducer } from './StreamProducer.ts';
import type { MediaContext } from './StreamRouterTypes.ts';
import { TypedEmitter } from './TypedEmitter.ts';

/** The peer id piped producers carry on an edge: they belong to no peer of this host. */
export const REMOTE_PEER_ID = 'remote-origin';

export type ClusterPipeEvents = {
  close: [];
};

/**
 * One end of a PipeTransport pair between two hosts, on one router: SRTP
 * (keys exchanged through the link), RTX (losses between hosts repaired by
 * retransmission), no SCTP. Closes with its router.
 */
abstract class ClusterPipeEnd extends TypedEmitter<ClusterPipeEvents> {
  protected readonly transport: ms.PipeTransport;
  protected readonly router: OriginRouter;
  protected readonly ctx: MediaContext;
  #closed = false;

  protected constructor(transport: ms.PipeTransport, router: OriginRouter, ctx: MediaContext) {
    super((event, error) => ctx.log.error({ streamId: ctx.streamId, transportId: transport.id, event, err: error }, 'pipe listener failed'));
    this.transport = transport;
    this.router = router;
    this.ctx = ctx;
    // The router's close (stream closed, worker died) takes the transport with it.
    transport.observer.once('close', () => this.close());
  }

  protected static async createTransport(router: OriginRouter, config: ClusterPipeConfig, ctx: MediaContext, side: 'origin' | 'edge'): Promise<ms.PipeTransport> {
    return callMediasoup(`create ${side} pipe`, () =>
      router.router.createPipeTransport({
        listenInfo: {
          protocol: 'udp',
          ip: config.listenIp,
          portRange: ctx.portRange(router.worker),
          ...(config.announcedIp ? { announcedAddress: config.announcedIp } : {}),
        },
        enableSrtp: true,
        enableRtx: true,
        enableSctp: false,
        appData: { streamId: ctx.streamId, side },
      }),
    );
  }

  get id(): string {
    return this.transport.id;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** This end, for the other host. */
  get endpoint(): PipeEndpoint {
    const { srtpParameters, tuple } = this.transport;
    if (!srtpParameters) throw new SfuError('invalid_parameters', 'pipe transport has no SRTP parameters');
    return { ip: tuple.localIp, port: tuple.localPort, srtpParameters };
  }

  async connect(remote: PipeEndpoint): Promise<void> {
    this.assertOpen();
    await callMediasoup('connect pipe', () => this.transport.connect({ ip: remote.ip, port: remote.port, srtpParameters: remote.srtpParameters }));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.transport.close();
    this.closeChildren();
    this.safeEmit('close');
  }

  protected abstract closeChildren(): void;

  protected assertOpen(): void {
    if (this.#closed) throw new SfuError('stream_closed', `pipe ${this.id} is closed`);
  }
}

/**
 * The origin's end: one per edge host carrying the stream. Consumes the
 * stream's producers for that host (pipe consumers forward every simulcast
 * layer; the edge's viewers pick theirs there).
 */
export class OriginPipe extends ClusterPipeEnd {
  readonly #consumers = new Map<string, ms.Consumer>();

  static async create(router: OriginRouter, config: ClusterPipeConfig, ctx: MediaContext): Promise<OriginPipe> {
    return new OriginPipe(await ClusterPipeEnd.createTransport(router, config, ctx, 'origin'), router, ctx);
  }

  private constructor(transport: ms.PipeTransport, router: OriginRouter, ctx: MediaContext) {
    super(transport, router, ctx);
  }

  /** Producers consumed through this pipe. */
  get consumerCount(): number {
    return this.#consumers.size;
  }

  /** What the edge needs to produce `producerId` on its end; one consumer per producer however often it asks. */
  async consume(producerId: string): Promise<PipedProducer> {
    this.assertOpen();
    const producer = this.router.producer(producerId);
    if (!producer) throw new SfuError('producer_not_found', `producer ${producerId} not found`);
    let consumer = this.#consumers.get(producerId);
    if (!consumer || consumer.closed) {
      consumer = await callMediasoup('consume into pipe', () => this.transport.consume({ producerId }));
      if (this.closed) {
        consumer.close();
        throw new SfuError('stream_closed', 'the pipe closed while consuming');
      }
      const created = consumer;
      this.#consumers.set(producerId, created);
      created.observer.once('close', () => {
        if (this.#consumers.get(producerId) === created) this.#consumers.delete(producerId);
      });
    }
    return { id: producerId, kind: producer.info.kind, source: producer.source, rtpParameters: consumer.rtpParameters, paused: consumer.producerPaused };
  }

  protected closeChildren(): void {
    // mediasoup closed them with the transport.
    this.#consumers.clear();
  }
}

/**
 * The edge's end: the origin's producers re-produced here under their own ids,
 * on this host's origin router, so its viewers (and its fan-out routers)
 * consume them as if the streamer sent here.
 */
export class EdgePipe extends ClusterPipeEnd {
  readonly #producers = new Map<string, StreamProducer>();

  static async create(router: OriginRouter, config: ClusterPipeConfig, ctx: MediaContext): Promise<EdgePipe> {
    return new EdgePipe(await ClusterPipeEnd.createTransport(router, config, ctx, 'edge'), router, ctx);
  }

  private constructor(transport: ms.PipeTransport, router: OriginRouter, ctx: MediaContext) {
    super(transport, router, ctx);
  }

  producer(producerId: string): StreamProducer | undefined {
    const producer = this.#producers.get(producerId);
    return producer && !producer.closed ? producer : undefined;
  }

  /** Re-produces an origin producer here; its keyframe requests to the origin are coalesced (`keyFrameRequestDelayMs`). */
  async produce(piped: PipedProducer, keyFrameRequestDelayMs: number): Promise<StreamProducer> {
    this.assertOpen();
    const existing = this.producer(piped.id);
    if (existing) return existing;
    const producer = await callMediasoup('produce from pipe', () =>
      this.transport.produce({
        id: piped.id,
        kind: piped.kind,
        rtpParameters: piped.rtpParameters,
        paused: piped.paused,
        keyFrameRequestDelay: keyFrameRequestDelayMs,
        appData: { peerId: REMOTE_PEER_ID, source: piped.source },
      }),
    );
    if (this.closed) {
      producer.close();
      throw new SfuError('stream_closed', 'the pipe closed while producing');
    }
    const streamProducer = new StreamProducer(producer, { peerId: REMOTE_PEER_ID, source: piped.source, kind: piped.kind, log: this.ctx.log });
    this.#producers.set(piped.id, streamProducer);
    streamProducer.on('close', () => {
      if (this.#producers.get(piped.id) === streamProducer) this.#producers.delete(piped.id);
    });
    this.router.adoptPiped(streamProducer);
    return streamProducer;
  }

  /** The origin stopped this producer: its consumers here close ('producerclose'). */
  closeProducer(producerId: string): void {
    this.#producers.get(producerId)?.close();
  }

  protected closeChildren(): void {
    for (const producer of [...this.#producers.values()]) producer.transportClosed();
    this.#producers.clear();
  }
}
