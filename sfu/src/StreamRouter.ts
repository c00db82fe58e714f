import type { types as ms } from 'mediasoup';
import { callMediasoup, SfuError } from './errors.ts';
import { moduleLogger, type SfuLogger } from './logger.ts';
import { TypedEmitter } from './TypedEmitter.ts';
import type { WorkerPool } from './WorkerPool.ts';
import type {
  ConsumerLayers,
  ConsumerOffer,
  DtlsParameters,
  IceCandidate,
  IceParameters,
  LayerPreference,
  MediaKind,
  MediaReset,
  ProduceRequest,
  ProducerInfo,
  ProducerSource,
  RtpCapabilities,
  StreamRouterCounts,
  StreamRouterEvents,
  StreamRouterOptions,
  StreamRouterPlacement,
  TransportDirection,
  TransportOffer,
} from './StreamRouterTypes.ts';

/** CALIBRATION.md: re-requesting a keyframe at these delays fixed 10 of 11 stalled joins. */
const DEFAULT_KEYFRAME_RETRY_DELAYS_MS = [700, 1400] as const;

/** Every worker runs on this host, so pipe transports stay on loopback. */
const PIPE_LISTEN_IP = '127.0.0.1';

/** Our simulcast is three spatial layers (r0–r2), each with up to three temporal layers. */
const SPATIAL_LAYER: Record<LayerPreference, number> = { low: 0, medium: 1, high: 2, auto: 2 };
const TOP_TEMPORAL_LAYER = 2;

const SOURCE_KIND: Record<ProducerSource, MediaKind> = {
  camera: 'video',
  microphone: 'audio',
  screen: 'video',
};

interface RouterEntry {
  readonly router: ms.Router;
  readonly worker: ms.Worker;
  readonly role: 'origin' | 'fanout';
  readonly recvTransports: Set<TransportEntry>;
  /** Recv transports being created here: they count as load before they exist. */
  pendingTransports: number;
  /** Fan-out only: producer id → its pipe from the origin router. */
  readonly pipes: Map<string, Promise<void>>;
  /** Peers whose transports closed because this router's worker died. */
  readonly lostPeers: Set<string>;
  /** A new fan-out router takes viewers only once the existing producers are piped. */
  ready: boolean;
}

interface PeerEntry {
  readonly id: string;
  readonly transports: Map<string, TransportEntry>;
  readonly consumers: Map<string, ConsumerEntry>;
  /** Set by closePeer/reset, so requests in flight for this peer undo themselves. */
  closed: boolean;
}

interface TransportEntry {
  readonly transport: ms.WebRtcTransport;
  readonly peer: PeerEntry;
  readonly direction: TransportDirection;
  readonly routerEntry: RouterEntry;
  readonly consumers: Set<ConsumerEntry>;
  connected: boolean;
}

interface ProducerEntry {
  readonly producer: ms.Producer;
  readonly info: ProducerInfo;
}

interface ConsumerEntry {
  readonly consumer: ms.Consumer;
  readonly transportEntry: TransportEntry;
  readonly source: ProducerSource;
  /** Keyframe re-requests after resume; cleared when the consumer closes. */
  readonly timers: Set<NodeJS.Timeout>;
}

/**
 * The media of one live stream: an origin router holding the streamer's
 * producers and, once it carries `maxConsumersPerRouter` consumers, fan-out
 * routers on other workers fed by pipeToRouter. Peers are opaque ids; each
 * peer can only touch the transports, producers and consumers it created.
 *
 * Worker death: if the origin's worker dies everything is dropped, a new
 * origin router is made on a live worker and `mediareset` (scope 'all') is
 * emitted: the streamer republishes, viewers consume again. If only a fan-out
 * worker dies, that router is dropped and `mediareset` (scope 'viewers') names
 * the viewers that were on it; the producers are untouched.
 */
/** Rebuilding after a worker death: attempts, and the pause between them (a replacement worker starts in ~100 ms). */
const REBUILD_ATTEMPTS = 20;
const REBUILD_RETRY_MS = 250;

export class StreamRouter extends TypedEmitter<StreamRouterEvents> {
  readonly id: string;
  readonly #pool: WorkerPool;
  readonly #log: SfuLogger;
  readonly #maxConsumersPerRouter: number;
  readonly #keyFrameRetryDelaysMs: readonly number[];
  #origin: RouterEntry;
  #fanouts: RouterEntry[] = [];
  readonly #peers = new Map<string, PeerEntry>();
  readonly #producers = new Map<string, ProducerEntry>();
  /** `${peerId}\n${source}` while produce() is in flight: one producer per source. */
  readonly #publishing = new Set<string>();
  #pendingFanout: Promise<RouterEntry> | undefined;
  /** Settles when a rebuild after the origin worker's death is over. */
  #rebuilding: Promise<void> = Promise.resolve();
  readonly #lostRouters = new Set<RouterEntry>();
  #lossCheckScheduled = false;
  /** Set while we tear things down on purpose, so per-object close handlers stay silent. */
  #quiet = false;
  #closed = false;

  static async create(pool: WorkerPool, streamId: string, options: StreamRouterOptions = {}): Promise<StreamRouter> {
    const worker = await pool.leastLoadedWorker();
    const router = await callMediasoup('create router', () =>
      worker.createRouter({ mediaCodecs: pool.config.mediaCodecs, appData: { streamId, role: 'origin' } }),
    );
    return new StreamRouter(pool, streamId, router, worker, options);
  }

  private constructor(
    pool: WorkerPool,
    streamId: string,
    router: ms.Router,
    worker: ms.Worker,
    options: StreamRouterOptions,
  ) {
    const log = moduleLogger(options.logger ?? pool.logger, 'StreamRouter');
    super((event, error) => log.error({ streamId, event, err: error }, 'StreamRouter listener failed'));
    this.id = streamId;
    this.#pool = pool;
    this.#log = log;
    this.#maxConsumersPerRouter = options.maxConsumersPerRouter ?? pool.config.maxConsumersPerRouter;
    this.#keyFrameRetryDelaysMs = options.keyFrameRetryDelaysMs ?? DEFAULT_KEYFRAME_RETRY_DELAYS_MS;
    this.#origin = this.#trackRouter(router, worker, 'origin');
  }

  get closed(): boolean {
    return this.#closed;
  }

  get rtpCapabilities(): RtpCapabilities {
    return this.#origin.router.rtpCapabilities;
  }

  async createTransport(peerId: string, direction: TransportDirection): Promise<TransportOffer> {
    if (direction !== 'send' && direction !== 'recv') {
      throw new SfuError('invalid_parameters', `unknown transport direction "${String(direction)}"`);
    }
    await this.#whenUsable();
    const peer = this.#peerEntry(peerId);
    const routerEntry = direction === 'send' ? this.#origin : await this.#reserveRecvRouter();
    let transport: ms.WebRtcTransport;
    try {
      const { listenIp, announcedIp, initialAvailableOutgoingBitrate } = this.#pool.config;
      transport = await callMediasoup('create transport', () =>
        routerEntry.router.createWebRtcTransport({
          listenIps: [{ ip: listenIp, announcedIp }],
          enableUdp: true,
          enableTcp: true,
          preferUdp: true,
          enableSctp: false,
          initialAvailableOutgoingBitrate,
          appData: { peerId, direction },
        }),
      );
    } finally {
      if (direction === 'recv') routerEntry.pendingTransports--;
    }
    if (peer.closed || this.#closed || transport.closed) {
      transport.close();
      throw new SfuError('stream_closed', 'the peer or its media went away while the transport was created');
    }
    const entry: TransportEntry = {
      transport,
      peer,
      direction,
      routerEntry,
      consumers: new Set(),
      connected: false,
    };
    peer.transports.set(transport.id, entry);
    if (direction === 'recv') routerEntry.recvTransports.add(entry);
    transport.observer.once('close', () => this.#onTransportClosed(entry));

    const { maxIncomingBitrate } = this.#pool.config;
    if (direction === 'send' && maxIncomingBitrate > 0) {
      await transport.setMaxIncomingBitrate(maxIncomingBitrate).catch((error: unknown) => {
        this.#log.warn({ streamId: this.id, err: error }, 'setMaxIncomingBitrate failed');
      });
    }
    this.#log.debug({ streamId: this.id, peerId, direction, transportId: transport.id }, 'transport created');
    return {
      id: transport.id,
      iceParameters: transport.iceParameters,
      iceCandidates: transport.iceCandidates,
      dtlsParameters: transport.dtlsParameters,
    };
  }

  async connectTransport(peerId: string, transportId: string, dtlsParameters: DtlsParameters): Promise<void> {
    const entry = this.#ownedTransport(peerId, transportId);
    // The worker rejects a second connect with a plain Error; make it a clear, stable code.
    if (entry.connected) throw new SfuError('not_allowed', 'transport is already connected');
    entry.connected = true;
    try {
      await callMediasoup('connect transport', () => entry.transport.connect({ dtlsParameters }));
    } catch (error) {
      entry.connected = false;
      throw error;
    }
  }

  async produce(peerId: string, transportId: string, request: ProduceRequest): Promise<string> {
    const { kind, rtpParameters, source } = request;
    if (!Object.hasOwn(SOURCE_KIND, source)) {
      throw new SfuError('invalid_parameters', `unknown source "${String(source)}"`);
    }
    if (SOURCE_KIND[source] !== kind) {
      throw new SfuError('invalid_parameters', `source "${source}" must be ${SOURCE_KIND[source]}, got "${String(kind)}"`);
    }
    const entry = this.#ownedTransport(peerId, transportId);
    if (entry.direction !== 'send') throw new SfuError('not_allowed', 'produce needs a send transport');
    const key = `${peerId}\n${source}`;
    const alreadyPublished = [...this.#producers.values()].some(
      (p) => p.info.peerId === peerId && p.info.source === source,
    );
    if (alreadyPublished || this.#publishing.has(key)) {
      throw new SfuError('not_allowed', `${source} is already published; close it first`);
    }

    this.#publishing.add(key);
    let producer: ms.Producer;
    try {
      producer = await callMediasoup('produce', () =>
        entry.transport.produce({ kind, rtpParameters, appData: { peerId, source } }),
      );
    } finally {
      this.#publishing.delete(key);
    }
    if (entry.transport.closed || entry.peer.closed || this.#closed) {
      producer.close();
      throw new SfuError('stream_closed', 'the transport closed while producing');
    }

    const info: ProducerInfo = { id: producer.id, kind, source, peerId, encodings: producer.rtpParameters.encodings?.length ?? 1 };
    const producerEntry: ProducerEntry = { producer, info };
    this.#producers.set(producer.id, producerEntry);
    producer.observer.once('close', () => this.#onProducerClosed(producerEntry));

    // Viewers on fan-out routers can consume it as soon as they hear of it.
    await this.#pipeToFanouts(producer.id);
    if (!producer.closed) {
      this.#log.debug({ streamId: this.id, ...info }, 'producer added');
      this.safeEmit('produceradded', { ...info });
    }
    return producer.id;
  }

  async consume(
    peerId: string,
    transportId: string,
    producerId: string,
    rtpCapabilities: RtpCapabilities,
  ): Promise<ConsumerOffer> {
    const entry = this.#ownedTransport(peerId, transportId);
    if (entry.direction !== 'recv') throw new SfuError('not_allowed', 'consume needs a recv transport');
    const producerEntry = this.#producers.get(producerId);
    if (!producerEntry) throw new SfuError('producer_not_found', `producer ${producerId} not found`);
    const { router, role } = entry.routerEntry;
    if (role === 'fanout') {
      // pipeToRouter keeps the producer id, so the same id is consumable on the fan-out router.
      try {
        await this.#pipe(producerId, entry.routerEntry);
      } catch (error) {
        throw new SfuError('cannot_consume', `producer ${producerId} could not reach this router`, { cause: error });
      }
    }
    if (!router.canConsume({ producerId, rtpCapabilities })) {
      throw new SfuError('cannot_consume', `these RTP capabilities cannot receive producer ${producerId}`);
    }

    const consumer = await callMediasoup('consume', () =>
      entry.transport.consume({
        producerId,
        rtpCapabilities,
        // The client resumes once its receiver exists, so the first keyframe is not lost.
        paused: true,
        appData: { peerId, source: producerEntry.info.source },
      }),
    );
    if (consumer.closed || entry.transport.closed || entry.peer.closed || this.#closed) {
      consumer.close();
      throw new SfuError('producer_not_found', `producer ${producerId} or the transport closed while consuming`);
    }

    const consumerEntry: ConsumerEntry = {
      consumer,
      transportEntry: entry,
      source: producerEntry.info.source,
      timers: new Set(),
    };
    entry.peer.consumers.set(consumer.id, consumerEntry);
    entry.consumers.add(consumerEntry);
    consumer.on('producerclose', () => {
      if (this.#isQuiet()) return;
      this.safeEmit('consumerclosed', { peerId, consumerId: consumer.id, reason: 'producerclose' });
    });
    consumer.observer.once('close', () => this.#onConsumerClosed(consumerEntry));

    return {
      id: consumer.id,
      producerId,
      kind: consumer.kind,
      rtpParameters: consumer.rtpParameters,
      type: consumer.type,
      source: producerEntry.info.source,
      producerPaused: consumer.producerPaused,
    };
  }

  async resumeConsumer(peerId: string, consumerId: string): Promise<void> {
    const entry = this.#ownedConsumer(peerId, consumerId);
    await callMediasoup('resume consumer', () => entry.consumer.resume());
    if (entry.consumer.kind !== 'video' || entry.consumer.closed) return;
    this.#clearTimers(entry);
    this.#requestKeyFrame(entry);
    // 3.8.4 simulcast sometimes forwards the first keyframe and then stalls
    // until the browser's own PLI ~3 s later (CALIBRATION.md); ask again.
    for (const delayMs of this.#keyFrameRetryDelaysMs) {
      const timer = setTimeout(() => {
        entry.timers.delete(timer);
        this.#requestKeyFrame(entry);
      }, delayMs);
      entry.timers.add(timer);
    }
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
    if (!Object.hasOwn(SPATIAL_LAYER, layer)) {
      throw new SfuError('invalid_parameters', `unknown layer "${String(layer)}"`);
    }
    const entry = this.#ownedConsumer(peerId, consumerId);
    if (entry.consumer.type !== 'simulcast') return undefined;
    await callMediasoup('set preferred layers', () =>
      entry.consumer.setPreferredLayers({ spatialLayer: SPATIAL_LAYER[layer], temporalLayer: TOP_TEMPORAL_LAYER }),
    );
    return entry.consumer.preferredLayers;
  }

  /** New ICE credentials; the server's candidates do not change, but the peer gets them again. */
  async restartIce(peerId: string, transportId: string): Promise<{ iceParameters: IceParameters; iceCandidates: IceCandidate[] }> {
    const entry = this.#ownedTransport(peerId, transportId);
    const iceParameters = await callMediasoup('restart ICE', () => entry.transport.restartIce());
    return { iceParameters, iceCandidates: entry.transport.iceCandidates };
  }

  getProducers(): ProducerInfo[] {
    return [...this.#producers.values()].map((entry) => ({ ...entry.info }));
  }

  /** Stops one of the peer's producers (e.g. the screen share); emits `producerremoved`. */
  closeProducer(peerId: string, producerId: string): void {
    this.#assertOpen();
    const entry = this.#producers.get(producerId);
    if (!entry || entry.info.peerId !== peerId) {
      throw new SfuError('producer_not_found', `producer ${producerId} not found`);
    }
    entry.producer.close();
  }

  /** Closes every transport of the peer, and with them its producers and consumers. */
  closePeer(peerId: string): void {
    const peer = this.#peers.get(peerId);
    if (!peer) return;
    peer.closed = true;
    this.#peers.delete(peerId);
    for (const entry of [...peer.transports.values()]) entry.transport.close();
  }

  counts(): StreamRouterCounts {
    let transports = 0;
    let consumers = 0;
    for (const peer of this.#peers.values()) {
      transports += peer.transports.size;
      consumers += peer.consumers.size;
    }
    const routers = this.#routers().filter((entry) => !entry.router.closed);
    return {
      routers: routers.length,
      transports,
      producers: this.#producers.size,
      consumers,
      consumersPerRouter: routers.map((entry) =>
        [...entry.recvTransports].reduce((sum, t) => sum + t.consumers.size, 0),
      ),
    };
  }

  /** Which router sits on which worker process (metrics, tests). */
  placement(): StreamRouterPlacement {
    const describe = (entry: RouterEntry) => ({ routerId: entry.router.id, workerPid: entry.worker.pid });
    return {
      origin: describe(this.#origin),
      fanout: this.#fanouts.filter((entry) => !entry.router.closed).map(describe),
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#teardown();
    this.#log.debug({ streamId: this.id }, 'stream router closed');
    this.safeEmit('close');
  }

  // Placement and fan-out.

  #routers(): RouterEntry[] {
    return [this.#origin, ...this.#fanouts];
  }

  /**
   * Load in consumers; a recv transport that has not consumed yet still counts
   * as one, so a burst of joins does not all land on the same router.
   */
  #routerLoad(entry: RouterEntry): number {
    let load = entry.pendingTransports;
    for (const transport of entry.recvTransports) load += Math.max(1, transport.consumers.size);
    return load;
  }

  /** Picks (and reserves a slot on) the least-loaded router with room, adding a fan-out router when all are full. */
  async #reserveRecvRouter(): Promise<RouterEntry> {
    for (;;) {
      this.#assertOpen();
      let best: RouterEntry | undefined;
      for (const entry of this.#routers()) {
        if (!entry.ready || entry.router.closed) continue;
        const load = this.#routerLoad(entry);
        if (load >= this.#maxConsumersPerRouter) continue;
        if (!best || load < this.#routerLoad(best)) best = entry;
      }
      if (best) {
        best.pendingTransports++;
        return best;
      }
      // mediasoup 3.12 (unlike 3.8) registers a piped producer under the origin producer's
      // id in its worker, so a worker can hold only one router of this stream:
      // once every worker has one, the least-loaded router goes past the threshold.
      const used = new Set(this.#routers().map((entry) => entry.worker));
      if (!this.#pendingFanout && this.#pool.workers.every((worker) => used.has(worker))) {
        const ready = this.#routers().filter((entry) => entry.ready && !entry.router.closed);
        const least = ready.reduce<RouterEntry | undefined>(
          (min, entry) => (!min || this.#routerLoad(entry) < this.#routerLoad(min) ? entry : min),
          undefined,
        );
        if (least) {
          least.pendingTransports++;
          return least;
        }
      }
      // Concurrent joins share one new router; any that find it full loop and add another.
      this.#pendingFanout ??= this.#createFanoutRouter().finally(() => {
        this.#pendingFanout = undefined;
      });
      await this.#pendingFanout;
    }
  }

  async #createFanoutRouter(): Promise<RouterEntry> {
    const origin = this.#origin;
    const worker = await this.#pool.leastLoadedWorker({ avoid: this.#routers().map((entry) => entry.worker) });
    const router = await callMediasoup('create fan-out router', () =>
      worker.createRouter({ mediaCodecs: this.#pool.config.mediaCodecs, appData: { streamId: this.id, role: 'fanout' } }),
    );
    if (this.#closed || origin !== this.#origin || origin.router.closed) {
      router.close();
      throw new SfuError('stream_closed', 'media was reset while adding a fan-out router');
    }
    const entry = this.#trackRouter(router, worker, 'fanout');
    this.#fanouts.push(entry);
    // A failed pipe is retried by consume(), so one bad producer does not block the router.
    await this.#pipeToRouter([...this.#producers.keys()], entry);
    entry.ready = true;
    this.#log.info(
      { streamId: this.id, routerId: router.id, workerPid: worker.pid, fanouts: this.#fanouts.length },
      'fan-out router added',
    );
    return entry;
  }

  async #pipeToFanouts(producerId: string): Promise<void> {
    await Promise.all(this.#fanouts.map((entry) => this.#pipeToRouter([producerId], entry)));
  }

  async #pipeToRouter(producerIds: string[], entry: RouterEntry): Promise<void> {
    const results = await Promise.allSettled(producerIds.map((id) => this.#pipe(id, entry)));
    results.forEach((result, index) => {
      if (result.status === 'rejected' && this.#producers.has(producerIds[index] ?? '') && !entry.router.closed) {
        this.#log.warn(
          { streamId: this.id, producerId: producerIds[index], routerId: entry.router.id, err: result.reason },
          'pipeToRouter failed',
        );
      }
    });
  }

  /** One pipe per producer and fan-out router, however many callers ask for it. */
  #pipe(producerId: string, entry: RouterEntry): Promise<void> {
    const existing = entry.pipes.get(producerId);
    if (existing) return existing;
    const pipe = this.#origin.router
      .pipeToRouter({ producerId, router: entry.router, listenIp: PIPE_LISTEN_IP, enableSctp: false })
      .then(() => undefined);
    entry.pipes.set(producerId, pipe);
    pipe.catch(() => {
      if (entry.pipes.get(producerId) === pipe) entry.pipes.delete(producerId);
    });
    return pipe;
  }

  #trackRouter(router: ms.Router, worker: ms.Worker, role: RouterEntry['role']): RouterEntry {
    const entry: RouterEntry = {
      router,
      worker,
      role,
      recvTransports: new Set(),
      pendingTransports: 0,
      pipes: new Map(),
      lostPeers: new Set(),
      ready: role === 'origin',
    };
    router.on('workerclose', () => this.#onRouterLost(entry));
    router.observer.once('close', () => {
      this.#fanouts = this.#fanouts.filter((fanout) => fanout !== entry);
    });
    return entry;
  }

  // Worker death.

  /**
   * All routers of a dead worker get 'workerclose' in the same tick; handling
   * them in a microtask turns that into one decision and one `mediareset`.
   */
  #onRouterLost(entry: RouterEntry): void {
    if (this.#closed) return;
    this.#lostRouters.add(entry);
    if (this.#lossCheckScheduled) return;
    this.#lossCheckScheduled = true;
    queueMicrotask(() => {
      this.#lossCheckScheduled = false;
      this.#handleLostRouters();
    });
  }

  #handleLostRouters(): void {
    const lost = [...this.#lostRouters];
    this.#lostRouters.clear();
    if (this.#closed || lost.length === 0) return;
    const peerIds = new Set(lost.flatMap((entry) => [...entry.lostPeers]));
    if (lost.includes(this.#origin)) {
      this.#rebuilding = this.#rebuildOrigin(peerIds);
      return;
    }
    this.#log.warn(
      { streamId: this.id, routers: lost.map((entry) => entry.router.id), peerIds: [...peerIds] },
      'fan-out worker died; its viewers must consume again',
    );
    this.#emitReset({ reason: 'worker_died', scope: 'viewers', peerIds: [...peerIds] });
  }

  async #rebuildOrigin(lostPeerIds: Set<string>): Promise<void> {
    const peerIds = new Set(lostPeerIds);
    for (const peer of this.#peers.values()) peerIds.add(peer.id);
    this.#teardown();
    // Several workers can die at once (their exits arrive one by one): a worker that
    // still looks alive may be dying too. Try the others, then its replacement.
    const failed = new Set<ms.Worker>();
    for (let attempt = 0; ; attempt++) {
      let worker: ms.Worker | undefined;
      try {
        worker = await this.#pool.leastLoadedWorker({ avoid: failed });
        const router = await worker.createRouter({
          mediaCodecs: this.#pool.config.mediaCodecs,
          appData: { streamId: this.id, role: 'origin' },
        });
        if (this.#closed) {
          router.close();
          return;
        }
        if (worker.closed || router.closed) throw new SfuError('worker_unavailable', 'worker died while rebuilding');
        this.#origin = this.#trackRouter(router, worker, 'origin');
        this.#log.warn({ streamId: this.id, routerId: router.id, workerPid: worker.pid, attempt }, 'origin worker died; media rebuilt on another worker');
        break;
      } catch (error) {
        if (worker) failed.add(worker);
        if (this.#closed) return;
        if (attempt >= REBUILD_ATTEMPTS) {
          this.#log.error({ streamId: this.id, err: error }, 'could not rebuild media after worker death; closing');
          this.close();
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, REBUILD_RETRY_MS));
      }
    }
    this.#emitReset({ reason: 'worker_died', scope: 'all', peerIds: [...peerIds] });
  }

  #emitReset(reset: MediaReset): void {
    this.safeEmit('mediareset', reset);
  }

  /** Closes every router and forgets every peer, without per-object events. */
  #teardown(): void {
    this.#quiet = true;
    try {
      for (const entry of [...this.#fanouts]) entry.router.close();
      this.#origin.router.close();
      for (const peer of this.#peers.values()) {
        peer.closed = true;
        for (const entry of peer.consumers.values()) this.#clearTimers(entry);
      }
      this.#peers.clear();
      this.#producers.clear();
      this.#publishing.clear();
      this.#fanouts = [];
      this.#lostRouters.clear();
    } finally {
      this.#quiet = false;
    }
  }

  // Per-object bookkeeping.

  #onTransportClosed(entry: TransportEntry): void {
    entry.peer.transports.delete(entry.transport.id);
    entry.routerEntry.recvTransports.delete(entry);
    if (!this.#quiet && entry.routerEntry.router.closed) entry.routerEntry.lostPeers.add(entry.peer.id);
  }

  #onProducerClosed(entry: ProducerEntry): void {
    this.#producers.delete(entry.producer.id);
    for (const fanout of this.#fanouts) fanout.pipes.delete(entry.producer.id);
    if (this.#isQuiet()) return;
    this.#log.debug({ streamId: this.id, ...entry.info }, 'producer removed');
    this.safeEmit('producerremoved', { ...entry.info });
  }

  #onConsumerClosed(entry: ConsumerEntry): void {
    this.#clearTimers(entry);
    entry.transportEntry.peer.consumers.delete(entry.consumer.id);
    entry.transportEntry.consumers.delete(entry);
  }

  /** Objects closing because the origin router died are covered by the coming `mediareset`. */
  #isQuiet(): boolean {
    return this.#quiet || this.#origin.router.closed;
  }

  #requestKeyFrame(entry: ConsumerEntry): void {
    if (entry.consumer.closed) return;
    entry.consumer.requestKeyFrame().catch((error: unknown) => {
      this.#log.debug({ streamId: this.id, consumerId: entry.consumer.id, err: error }, 'requestKeyFrame failed');
    });
  }

  #clearTimers(entry: ConsumerEntry): void {
    for (const timer of entry.timers) clearTimeout(timer);
    entry.timers.clear();
  }

  #peerEntry(peerId: string): PeerEntry {
    let peer = this.#peers.get(peerId);
    if (!peer) {
      peer = { id: peerId, transports: new Map(), consumers: new Map(), closed: false };
      this.#peers.set(peerId, peer);
    }
    return peer;
  }

  /** The peer's own open transport; another peer's id is indistinguishable from a missing one. */
  #ownedTransport(peerId: string, transportId: string): TransportEntry {
    this.#assertOpen();
    const entry = this.#peers.get(peerId)?.transports.get(transportId);
    if (!entry || entry.transport.closed) {
      throw new SfuError('transport_not_found', `transport ${transportId} not found`);
    }
    return entry;
  }

  #ownedConsumer(peerId: string, consumerId: string): ConsumerEntry {
    this.#assertOpen();
    const entry = this.#peers.get(peerId)?.consumers.get(consumerId);
    if (!entry || entry.consumer.closed) {
      throw new SfuError('consumer_not_found', `consumer ${consumerId} not found`);
    }
    return entry;
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
