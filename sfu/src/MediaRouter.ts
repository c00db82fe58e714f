import type { types as ms } from 'mediasoup';
import { callMediasoup, SfuError } from './errors.ts';
import { PeerTransport } from './PeerTransport.ts';
import { routerLoad } from './placement.ts';
import type { MediaContext, RtpCapabilities, TransportDirection } from './StreamRouterTypes.ts';
import { TypedEmitter } from './TypedEmitter.ts';

export type MediaRouterEvents = {
  /** The router's worker died: the router and every transport on it are gone. Carries the peers that had transports here. */
  workerclose: [peerIds: string[]];
  /** Emitted once, whatever the cause. */
  close: [];
};

/**
 * One mediasoup router of a stream and the peer transports on it. Closing it
 * (or its worker dying) tells each transport `routerClosed()`.
 */
export abstract class MediaRouter extends TypedEmitter<MediaRouterEvents> {
  abstract readonly role: 'origin' | 'fanout';
  readonly router: ms.Router;
  readonly worker: ms.Worker;
  protected readonly ctx: MediaContext;
  readonly #transports = new Set<PeerTransport>();
  /** Recv transports being created here: placement counts them before they exist. */
  #pendingRecvTransports = 0;
  #closed = false;

  protected constructor(router: ms.Router, worker: ms.Worker, ctx: MediaContext) {
    super((event, error) =>
      ctx.log.error({ streamId: ctx.streamId, routerId: router.id, event, err: error }, 'MediaRouter listener failed'),
    );
    this.router = router;
    this.worker = worker;
    this.ctx = ctx;
    router.on('workerclose', () => this.#workerClosed());
  }

  /** Creates a mediasoup router for the stream on `worker`. */
  protected static async createRouter(worker: ms.Worker, ctx: MediaContext, role: 'origin' | 'fanout'): Promise<ms.Router> {
    return callMediasoup(`create ${role} router`, () =>
      worker.createRouter({ mediaCodecs: ctx.config.mediaCodecs, appData: { streamId: ctx.streamId, role } }),
    );
  }

  get id(): string {
    return this.router.id;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get rtpCapabilities(): RtpCapabilities {
    return this.router.rtpCapabilities;
  }

  /** Whether placement may put viewers here. */
  abstract get ready(): boolean;

  /** The id under which an origin producer is consumable on this router. */
  abstract consumableProducerId(originProducerId: string): Promise<string>;

  canConsume(producerId: string, rtpCapabilities: RtpCapabilities): boolean {
    return !this.#closed && this.router.canConsume({ producerId, rtpCapabilities });
  }

  /** Consumers the placement counts, `producers` being the stream's producer count. */
  load(producers: number): number {
    const recv = [...this.#transports].filter((transport) => transport.direction === 'recv');
    return routerLoad(
      recv.map((transport) => transport.consumption),
      this.#pendingRecvTransports,
      producers,
    );
  }

  /** Peer consumers on this router (pipe consumers are not counted). */
  consumerCount(): number {
    let consumers = 0;
    for (const transport of this.#transports) consumers += transport.consumerCount;
    return consumers;
  }

  peerIds(): string[] {
    return [...new Set([...this.#transports].map((transport) => transport.peerId))];
  }

  async createTransport(peerId: string, direction: TransportDirection): Promise<PeerTransport> {
    this.#assertOpen();
    // Reserved synchronously with the caller's placement decision, before any await.
    if (direction === 'recv') this.#pendingRecvTransports++;
    let transport: ms.WebRtcTransport;
    try {
      const webRtcServer = this.ctx.webRtcServer(this.worker);
      const { initialAvailableOutgoingBitrate } = this.ctx.config;
      transport = await callMediasoup('create transport', () =>
        this.router.createWebRtcTransport({
          webRtcServer,
          // UDP first; TCP on the same port for networks that block UDP.
          enableUdp: true,
          enableTcp: true,
          preferUdp: true,
          enableSctp: false,
          initialAvailableOutgoingBitrate,
          appData: { peerId, direction },
        }),
      );
    } finally {
      if (direction === 'recv') this.#pendingRecvTransports--;
    }
    if (this.#closed || transport.closed) {
      transport.close();
      throw new SfuError('stream_closed', 'the router closed while the transport was created');
    }
    const peerTransport = new PeerTransport(transport, { peerId, direction, router: this, ctx: this.ctx });
    this.#transports.add(peerTransport);
    peerTransport.on('close', () => this.#transports.delete(peerTransport));
    this.adopt(peerTransport);
    return peerTransport;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.router.close();
    this.#closeTransports();
    this.safeEmit('close');
  }

  /** Subclasses listen to their new transports here. */
  protected adopt(_transport: PeerTransport): void {}

  /** mediasoup closed the router (and its transports) when the worker died. */
  #workerClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    const peerIds = this.peerIds();
    this.#closeTransports();
    this.safeEmit('workerclose', peerIds);
    this.safeEmit('close');
  }

  #closeTransports(): void {
    for (const transport of [...this.#transports]) transport.routerClosed();
    this.#transports.clear();
  }

  #assertOpen(): void {
    if (this.#closed) throw new SfuError('stream_closed', `router ${this.id} is closed`);
  }
}
