import { OriginPipe, REMOTE_PEER_ID } from './ClusterPipe.ts';
import type { ClusterPipeConfig, RemoteOriginSpec } from './ClusterPipeTypes.ts';
import { SfuError } from './errors.ts';
import { moduleLogger, type SfuLogger } from './logger.ts';
import { OriginRebuild } from './OriginRebuild.ts';
import { OriginRouter } from './OriginRouter.ts';
import { PeerMedia } from './PeerMedia.ts';
import { RecorderTap, type RecorderTapRequest } from './RecorderTap.ts';
import type { PeerTransport } from './PeerTransport.ts';
import { RemoteOrigin } from './RemoteOrigin.ts';
import { RouterSet } from './RouterSet.ts';
import { isLayerPreference, type StreamConsumer } from './StreamConsumer.ts';
import { systemTimer } from './timer.ts';
import { TypedEmitter } from './TypedEmitter.ts';
import type { WorkerPool } from './WorkerPool.ts';
import type {
  ConsumerLayers,
  ConsumerOffer,
  IceCandidate,
  IceParameters,
  LayerPreference,
  MediaContext,
  MediaKind,
  MediaReset,
  PeerDtlsParameters,
  PeerRtpCapabilities,
  ProduceRequest,
  ProducerInfo,
  ProducerSource,
  ProducerStreamStats,
  RtpCapabilities,
  StreamRouterCounts,
  StreamRouterEvents,
  StreamRouterOptions,
  StreamRouterPlacement,
  TransportDirection,
  TransportHealth,
  TransportOffer,
} from './StreamRouterTypes.ts';

const SOURCE_KIND: Record<ProducerSource, MediaKind> = {
  camera: 'video',
  microphone: 'audio',
  screen: 'video',
};

/**
 * The media of one live stream, for the api: peers are opaque ids and each
 * can only touch the transports, producers and consumers it created.
 *
 * The work is done by objects that each own one resource: a RouterSet (the
 * origin router with the producers, and fan-out routers piped from it on
 * other workers once it carries `maxConsumersPerRouter` consumers), one
 * PeerMedia per peer, PeerTransports, StreamProducers and StreamConsumers.
 * This class wires them to the api's events.
 *
 * Worker death: if the origin's worker dies every router is dropped, a new
 * origin is made on a live worker and `mediareset` (scope 'all') is emitted:
 * the streamer republishes, viewers consume again. If only a fan-out worker
 * dies, `mediareset` (scope 'viewers') names the viewers that were on it; the
 * producers are untouched.
 */
export class StreamRouter extends TypedEmitter<StreamRouterEvents> {
  readonly id: string;
  readonly #pool: WorkerPool;
  readonly #log: SfuLogger;
  readonly #ctx: MediaContext;
  readonly #maxConsumersPerRouter: number;
  #routers: RouterSet;
  readonly #peers = new Map<string, PeerMedia>();
  #rebuild: OriginRebuild | undefined;
  /** Settles (never rejects) when a rebuild after the origin worker's death is over. */
  #rebuilding: Promise<void> = Promise.resolve();
  /** Cluster edge: the stream's producers live on another host (see setRemoteOrigin). */
  #remoteSpec: RemoteOriginSpec | undefined;
  #remote: RemoteOrigin | undefined;
  /** Cluster origin: pipes towards edge hosts. */
  readonly #originPipes = new Map<string, OriginPipe>();
  #closed = false;

  static async create(pool: WorkerPool, streamId: string, options: StreamRouterOptions = {}): Promise<StreamRouter> {
    const log = moduleLogger(options.logger ?? pool.logger, 'StreamRouter');
    const ctx: MediaContext = {
      streamId,
      config: pool.config,
      log,
      timer: options.timer ?? systemTimer,
      webRtcServer: (worker) => pool.webRtcServer(worker),
      portRange: (worker) => pool.portRange(worker),
    };
    const origin = await OriginRouter.create(await pool.leastLoadedWorker(), ctx);
    return new StreamRouter(pool, ctx, origin, options.maxConsumersPerRouter ?? pool.config.maxConsumersPerRouter);
  }

  private constructor(pool: WorkerPool, ctx: MediaContext, origin: OriginRouter, maxConsumersPerRouter: number) {
    super((event, error) => ctx.log.error({ streamId: ctx.streamId, event, err: error }, 'StreamRouter listener failed'));
    this.id = ctx.streamId;
    this.#pool = pool;
    this.#log = ctx.log;
    this.#ctx = ctx;
    this.#maxConsumersPerRouter = maxConsumersPerRouter;
    this.#routers = this.#routerSet(origin);
  }

  get closed(): boolean {
    return this.#closed;
  }

  get rtpCapabilities(): RtpCapabilities {
    return this.#routers.origin.rtpCapabilities;
  }

  async createTransport(peerId: string, direction: TransportDirection): Promise<TransportOffer> {
    if (direction !== 'send' && direction !== 'recv') {
      throw new SfuError('invalid_parameters', `unknown transport direction "${String(direction)}"`);
    }
    await this.#whenUsable();
    const peer = this.#peerMedia(peerId);
    const routers = this.#routers;
    const transport =
      direction === 'send'
        ? await routers.origin.createTransport(peerId, 'send')
        : await routers.createRecvTransport(peerId);
    peer.adopt(transport);
    const { maxIncomingBitrate } = this.#ctx.config;
    if (direction === 'send' && maxIncomingBitrate > 0) await transport.limitIncomingBitrate(maxIncomingBitrate);
    this.#log.debug(
      { streamId: this.id, peerId, direction, transportId: transport.id, routerId: transport.router.id },
      'transport created',
    );
    return transport.offer;
  }

  async connectTransport(peerId: string, transportId: string, dtlsParameters: PeerDtlsParameters): Promise<void> {
    await this.#ownedTransport(peerId, transportId).transport.connect(dtlsParameters);
  }

  async produce(peerId: string, transportId: string, request: ProduceRequest): Promise<string> {
    const { kind, source } = request;
    if (!Object.hasOwn(SOURCE_KIND, source)) {
      throw new SfuError('invalid_parameters', `unknown source "${String(source)}"`);
    }
    if (SOURCE_KIND[source] !== kind) {
      throw new SfuError('invalid_parameters', `source "${source}" must be ${SOURCE_KIND[source]}, got "${String(kind)}"`);
    }
    const { peer, transport } = this.#ownedTransport(peerId, transportId);
    const routers = this.#routers;
    const producer = await peer.produce(transport, request);
    producer.on('close', (reason) => {
      if (reason === 'routerclose') return;
      this.#log.debug({ streamId: this.id, ...producer.info, reason }, 'producer removed');
      this.safeEmit('producerremoved', { ...producer.info });
    });
    // Viewers on fan-out routers can consume it as soon as they hear of it.
    await routers.pipeToFanouts(producer.id);
    if (!producer.closed) {
      this.#log.debug({ streamId: this.id, ...producer.info }, 'producer added');
      this.safeEmit('produceradded', { ...producer.info });
    }
    return producer.id;
  }

  async consume(
    peerId: string,
    transportId: string,
    producerId: string,
    rtpCapabilities: PeerRtpCapabilities,
  ): Promise<ConsumerOffer> {
    const { transport } = this.#ownedTransport(peerId, transportId);
    if (transport.direction !== 'recv') throw new SfuError('not_allowed', 'consume needs a recv transport');
    const remote = this.#remote;
    // A viewer consuming keeps the pipe, even when the producer is already piped.
    remote?.busy();
    if (remote && !this.#routers.origin.producer(producerId) && remote.has(producerId)) {
      try {
        await remote.ensure(producerId);
      } catch (error) {
        throw new SfuError('cannot_consume', `producer ${producerId} could not be piped from the origin`, { cause: error });
      }
    }
    const producer = this.#routers.origin.producer(producerId);
    if (!producer) throw new SfuError('producer_not_found', `producer ${producerId} not found`);
    const consumer = await transport.consume(producer.info, rtpCapabilities);
    consumer.on('close', (reason) => {
      if (reason === 'producerclose') this.safeEmit('consumerclosed', { peerId, consumerId: consumer.id, reason });
      if (this.#remote && this.counts().consumers === 0) this.#remote.idle();
    });
    return consumer.offer;
  }

  async resumeConsumer(peerId: string, consumerId: string): Promise<void> {
    await this.#ownedConsumer(peerId, consumerId).resume();
  }

  /**
   * Pins a simulcast consumer to a layer ('auto' = the top one, from which
   * mediasoup's bandwidth estimation steps down as needed). Returns the
   * layers mediasoup settled on, or undefined for non-simulcast consumers.
   */
  async setPreferredLayer(
    peerId: string,
    consumerId: string,
    layer: LayerPreference,
  ): Promise<ConsumerLayers | undefined> {
    if (!isLayerPreference(layer)) throw new SfuError('invalid_parameters', `unknown layer "${String(layer)}"`);
    return this.#ownedConsumer(peerId, consumerId).setPreferredLayer(layer);
  }

  /** New ICE credentials; the server's candidates do not change, but the peer gets them again. */
  async restartIce(peerId: string, transportId: string): Promise<{ iceParameters: IceParameters; iceCandidates: IceCandidate[] }> {
    return this.#ownedTransport(peerId, transportId).transport.restartIce();
  }

  /** Connection state and byte counters of the peer's transport (peers without a socket are watched through it). */
  async transportHealth(peerId: string, transportId: string): Promise<TransportHealth> {
    return this.#ownedTransport(peerId, transportId).transport.health();
  }

  /** The RTP streams one of the peer's producers receives, e.g. to learn which simulcast encoding is which. */
  async producerStreams(peerId: string, producerId: string): Promise<ProducerStreamStats[]> {
    this.#assertOpen();
    const producer = this.#routers.origin.producer(producerId);
    if (!producer || producer.peerId !== peerId) throw new SfuError('producer_not_found', `producer ${producerId} not found`);
    return producer.streams();
  }

  /** The recorder's tap on the origin: top video layer and audio, paused (RecorderTap). Closes with the origin router. */
  async createRecorderTap(request: RecorderTapRequest): Promise<RecorderTap> {
    await this.#whenUsable();
    const tap = await RecorderTap.create(this.#routers.origin, this.#ctx, request);
    if (this.#closed) tap.close();
    this.#assertOpen();
    return tap;
  }

  /** The stream's producers: the streamer's here, or on a cluster edge the remote origin's (piped or not yet). */
  getProducers(): ProducerInfo[] {
    if (this.#remote) return this.#remote.producers().map((p) => ({ ...p, peerId: REMOTE_PEER_ID, encodings: 1 }));
    return this.#routers.origin.producers().map((producer) => ({ ...producer.info }));
  }

  /**
   * Cluster edge: this stream's producers live on another host's router
   * (`spec.originId`); viewers here are served from a pipe opened on the
   * first consume. The same origin with a new producer list updates it; a
   * different origin, or null (this host is the origin, or there is none),
   * closes the pipe, and with it the piped producers and their consumers.
   */
  setRemoteOrigin(spec: RemoteOriginSpec | null): void {
    if (this.#closed) return;
    if (spec && this.#remote && this.#remote.originId === spec.originId) {
      this.#remoteSpec = spec;
      this.#remote.setProducers(spec.producers);
      return;
    }
    this.#remote?.close();
    this.#remote = undefined;
    this.#remoteSpec = spec ?? undefined;
    if (spec) this.#remote = this.#remoteOrigin(spec);
  }

  /** Cluster origin: one end of a pipe towards an edge host, on the origin router; closes with the stream. */
  async openOriginPipe(config: ClusterPipeConfig): Promise<OriginPipe> {
    await this.#whenUsable();
    const pipe = await OriginPipe.create(this.#routers.origin, config, this.#ctx);
    this.#originPipes.set(pipe.id, pipe);
    pipe.on('close', () => this.#originPipes.delete(pipe.id));
    return pipe;
  }

  /** Pipes to other hosts (cluster mode): towards edges on an origin, from the origin on an edge (0 or 1). */
  pipeCount(): number {
    return this.#originPipes.size + (this.#remote?.piped ? 1 : 0);
  }

  originPipe(pipeId: string): OriginPipe | undefined {
    const pipe = this.#originPipes.get(pipeId);
    return pipe && !pipe.closed ? pipe : undefined;
  }

  /** Stops one of the peer's producers (e.g. the screen share); emits `producerremoved`. */
  closeProducer(peerId: string, producerId: string): void {
    this.#assertOpen();
    const producer = this.#routers.origin.producer(producerId);
    if (!producer || producer.peerId !== peerId) {
      throw new SfuError('producer_not_found', `producer ${producerId} not found`);
    }
    producer.close();
  }

  /** Closes every transport of the peer, and with them its producers and consumers. */
  closePeer(peerId: string): void {
    const peer = this.#peers.get(peerId);
    if (!peer) return;
    this.#peers.delete(peerId);
    peer.close();
  }

  counts(): StreamRouterCounts {
    let transports = 0;
    let consumers = 0;
    for (const peer of this.#peers.values()) {
      transports += peer.transportCount;
      consumers += peer.consumerCount;
    }
    const routers = this.#routers.routers();
    return {
      routers: routers.length,
      transports,
      producers: this.#routers.origin.producerCount,
      consumers,
      consumersPerRouter: routers.map((router) => router.consumerCount()),
    };
  }

  /** Which router sits on which worker process (metrics, tests). */
  placement(): StreamRouterPlacement {
    const describe = (router: { id: string; worker: { pid: number } }) => ({ routerId: router.id, workerPid: router.worker.pid });
    return { origin: describe(this.#routers.origin), fanout: this.#routers.fanouts().map(describe) };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#rebuild?.cancel();
    this.#remote?.close();
    this.#routers.close();
    for (const peer of this.#peers.values()) peer.mediaClosed();
    this.#peers.clear();
    this.#log.debug({ streamId: this.id }, 'stream router closed');
    this.safeEmit('close');
  }

  #routerSet(origin: OriginRouter): RouterSet {
    const routers = new RouterSet(origin, {
      pool: this.#pool,
      ctx: this.#ctx,
      maxConsumersPerRouter: this.#maxConsumersPerRouter,
    });
    routers.on('fanoutlost', (peerIds) => this.#emitReset({ reason: 'worker_died', scope: 'viewers', peerIds }));
    routers.on('originlost', (peerIds) => this.#onOriginLost(peerIds));
    return routers;
  }

  /** Every producer and consumer is gone with the origin: forget the peers, build a new origin, then tell everyone. */
  #onOriginLost(lostPeerIds: string[]): void {
    if (this.#closed) return;
    const peerIds = new Set(lostPeerIds);
    for (const peer of this.#peers.values()) {
      peerIds.add(peer.id);
      peer.mediaClosed();
    }
    this.#peers.clear();
    const rebuild = new OriginRebuild({ pool: this.#pool, ctx: this.#ctx });
    this.#rebuild = rebuild;
    this.#rebuilding = rebuild.run().then(
      (origin) => {
        if (this.#rebuild === rebuild) this.#rebuild = undefined;
        if (!origin) return;
        if (this.#closed) {
          origin.close();
          return;
        }
        this.#routers = this.#routerSet(origin);
        // The piped producers went with the old origin router: a fresh pipe, on the first viewer again.
        if (this.#remoteSpec) {
          this.#remote?.close();
          this.#remote = this.#remoteOrigin(this.#remoteSpec);
        }
        this.#emitReset({ reason: 'worker_died', scope: 'all', peerIds: [...peerIds] });
      },
      (error: unknown) => {
        this.#log.error({ streamId: this.id, err: error }, 'could not rebuild media after worker death; closing');
        this.close();
      },
    );
  }

  #remoteOrigin(spec: RemoteOriginSpec): RemoteOrigin {
    const remote = new RemoteOrigin(this.#routers.origin, spec, this.#ctx);
    remote.on('pipe', (state) => this.safeEmit('remotepipe', state));
    return remote;
  }

  #emitReset(reset: MediaReset): void {
    this.safeEmit('mediareset', reset);
  }

  #peerMedia(peerId: string): PeerMedia {
    let peer = this.#peers.get(peerId);
    if (!peer) {
      peer = new PeerMedia(peerId);
      this.#peers.set(peerId, peer);
    }
    return peer;
  }

  /** The peer's own open transport; another peer's id is indistinguishable from a missing one. */
  #ownedTransport(peerId: string, transportId: string): { peer: PeerMedia; transport: PeerTransport } {
    this.#assertOpen();
    const peer = this.#peers.get(peerId);
    if (!peer) throw new SfuError('transport_not_found', `transport ${transportId} not found`);
    return { peer, transport: peer.transport(transportId) };
  }

  #ownedConsumer(peerId: string, consumerId: string): StreamConsumer {
    this.#assertOpen();
    const peer = this.#peers.get(peerId);
    if (!peer) throw new SfuError('consumer_not_found', `consumer ${consumerId} not found`);
    return peer.consumer(consumerId);
  }

  #assertOpen(): void {
    if (this.#closed) throw new SfuError('stream_closed', `stream ${this.id} is closed`);
  }

  async #whenUsable(): Promise<void> {
    this.#assertOpen();
    await this.#rebuilding;
    this.#assertOpen();
  }
}
