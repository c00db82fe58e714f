import { signal, type ReadonlySignal, type Signal } from '@preact/signals';
import { Device, type types } from 'mediasoup-client';
import type { IceServer, ProducerInfo, ServerMessageOf, Layer, MediaSource } from '@redred/api/protocol';
import { RequestError, type LiveConnection } from './live-connection.ts';

/**
 * Camera simulcast: three spatial layers (¼, ½, full resolution), lowest first as
 * mediasoup expects, so the SFU can give each viewer what its bandwidth allows.
 */
export const CAMERA_ENCODINGS: types.RtpEncodingParameters[] = [
  { scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { scaleResolutionDownBy: 1, maxBitrate: 1_200_000 },
];
const SCREEN_ENCODINGS: types.RtpEncodingParameters[] = [{ maxBitrate: 1_500_000 }];

/**
 * What this connection's transports are made from (`connection_established`): the
 * router's capabilities, and the ICE servers — a TURN relay with this session's
 * credentials when the server has one, for networks that cannot reach the SFU.
 */
export type MediaSession = Pick<ServerMessageOf<'connection_established'>, 'routerRtpCapabilities' | 'iceServers'>;

type TransportOffer = Extract<ServerMessageOf<'offer'>, { kind: 'transport' }>['transport'];
type ConsumerOffer = Extract<ServerMessageOf<'offer'>, { kind: 'consumer' }>['consumer'];

/** Loads a mediasoup-client Device with the room router's capabilities. */
export async function loadDevice(routerRtpCapabilities: unknown): Promise<Device> {
  const device = await Device.factory();
  // The server's contract: the router's RtpCapabilities as mediasoup produces them.
  await device.load({ routerRtpCapabilities: routerRtpCapabilities as types.RtpCapabilities });
  return device;
}

async function requestTransport(conn: LiveConnection, direction: 'send' | 'recv'): Promise<TransportOffer> {
  const offer = await conn.request({ type: 'create_transport', direction }, 'offer');
  if (offer.kind !== 'transport') throw new RequestError('internal', 'expected a transport offer');
  return offer.transport;
}

function transportOptions(offer: TransportOffer, iceServers: IceServer[]): types.TransportOptions {
  // Opaque on the wire (`Type.Unknown`): mediasoup's own WebRtcTransport parameters.
  return {
    id: offer.id,
    iceServers,
    iceParameters: offer.iceParameters as types.IceParameters,
    iceCandidates: offer.iceCandidates as types.IceCandidate[],
    dtlsParameters: offer.dtlsParameters as types.DtlsParameters,
  };
}

/** Wires a transport's `connect` to the `answer`/`connect` request, and restarts ICE when it fails. */
function wireTransport(conn: LiveConnection, transport: types.Transport): void {
  transport.on('connect', ({ dtlsParameters }, callback, errback) => {
    conn
      .request({ type: 'answer', kind: 'connect', transportId: transport.id, dtlsParameters }, 'ack')
      .then(() => callback(), errback);
  });
  let restarting = false;
  transport.on('connectionstatechange', (state) => {
    if (state !== 'failed' || restarting || transport.closed) return;
    restarting = true;
    conn
      .request({ type: 'restart_ice', transportId: transport.id }, 'ice_candidate')
      .then((reply) => transport.restartIce({ iceParameters: reply.iceParameters as types.IceParameters }))
      .catch((err: unknown) => console.warn('ICE restart failed', err))
      .finally(() => {
        restarting = false;
      });
  });
}

/** Runs async steps one after another, so events that arrive together apply in order. */
class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  push<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(task, task);
    this.#tail = run.catch(() => {});
    return run;
  }
}

/** What the streamer wants on air: one track per source, or none. */
export type PublishedTracks = Partial<Record<MediaSource, MediaStreamTrack | null>>;

/**
 * The streamer's upload: one send transport, one producer per source. `sync()`
 * makes the producers match the wanted tracks, so a device change, a screen share
 * and a republish after `media_reset` or a reconnect are the same operation.
 */
export class Publisher {
  readonly #conn: LiveConnection;
  readonly #device: Device;
  readonly #iceServers: IceServer[];
  readonly #queue = new SerialQueue();
  readonly #producers = new Map<MediaSource, types.Producer>();
  #transport: types.Transport | null = null;
  #closed = false;

  private constructor(conn: LiveConnection, device: Device, iceServers: IceServer[]) {
    this.#conn = conn;
    this.#device = device;
    this.#iceServers = iceServers;
  }

  static async create(conn: LiveConnection, session: MediaSession): Promise<Publisher> {
    return new Publisher(conn, await loadDevice(session.routerRtpCapabilities), session.iceServers);
  }

  get closed(): boolean {
    return this.#closed;
  }

  sync(wanted: PublishedTracks): Promise<void> {
    return this.#queue.push(() => this.#sync(wanted));
  }

  async #sync(wanted: PublishedTracks): Promise<void> {
    if (this.#closed) return;
    for (const [source, producer] of [...this.#producers]) {
      const track = wanted[source];
      if (!track || track.readyState === 'ended') await this.#unpublish(source, producer);
      else if (producer.track !== track) await producer.replaceTrack({ track });
    }
    for (const [source, track] of Object.entries(wanted) as [MediaSource, MediaStreamTrack | null | undefined][]) {
      if (!track || track.readyState === 'ended' || this.#producers.has(source) || this.#closed) continue;
      await this.#publish(source, track);
    }
  }

  async #ensureTransport(): Promise<types.Transport> {
    if (this.#transport && !this.#transport.closed) return this.#transport;
    const offer = await requestTransport(this.#conn, 'send');
    const transport = this.#device.createSendTransport(transportOptions(offer, this.#iceServers));
    wireTransport(this.#conn, transport);
    transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
      const source = appData.source as MediaSource;
      this.#conn
        .request({ type: 'answer', kind: 'produce', transportId: transport.id, mediaKind: kind, source, rtpParameters }, 'produced')
        .then((reply) => callback({ id: reply.producerId }), errback);
    });
    this.#transport = transport;
    return transport;
  }

  async #publish(source: MediaSource, track: MediaStreamTrack): Promise<void> {
    const transport = await this.#ensureTransport();
    if (this.#closed) return;
    const video = track.kind === 'video';
    const vp8 = this.#device.rtpCapabilities.codecs?.find((c) => c.mimeType.toLowerCase() === 'video/vp8');
    const producer = await transport.produce({
      track,
      // The studio owns its tracks (preview, device switches): closing a producer must not stop them.
      stopTracks: false,
      appData: { source },
      ...(video
        ? {
            encodings: source === 'camera' ? CAMERA_ENCODINGS : SCREEN_ENCODINGS,
            codecOptions: { videoGoogleStartBitrate: 1000 },
            ...(vp8 ? { codec: vp8 } : {}),
          }
        : { codecOptions: { opusDtx: true, opusFec: true } }),
    });
    if (this.#closed) {
      producer.close();
      return;
    }
    this.#producers.set(source, producer);
    producer.on('transportclose', () => this.#producers.delete(source));
  }

  async #unpublish(source: MediaSource, producer: types.Producer): Promise<void> {
    this.#producers.delete(source);
    producer.close();
    try {
      await this.#conn.request({ type: 'close_producer', producerId: producer.id }, 'ack');
    } catch (err) {
      // Already gone on the server (its transport closed): nothing left to stop.
      if (!(err instanceof RequestError)) throw err;
    }
  }

  /** Local teardown only: the server drops the peer's media when the socket goes or the stream ends. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const producer of this.#producers.values()) producer.close();
    this.#producers.clear();
    this.#transport?.close();
    this.#transport = null;
  }
}

/** Tracks a viewer receives, by source. */
export type ReceivedTracks = Partial<Record<MediaSource, MediaStreamTrack>>;

interface ReceivedConsumer {
  consumer: types.Consumer;
  source: MediaSource;
  simulcast: boolean;
}

/**
 * A viewer's download: one recv transport, one consumer per producer of the
 * stream, each resumed once its track is attached so the first frame is a keyframe.
 */
export class Receiver {
  readonly #conn: LiveConnection;
  readonly #device: Device;
  readonly #iceServers: IceServer[];
  readonly #queue = new SerialQueue();
  readonly #consumers = new Map<string, ReceivedConsumer>();
  readonly #tracks = signal<ReceivedTracks>({});
  readonly #layer: Signal<Layer>;
  #transport: types.Transport | null = null;
  #closed = false;

  private constructor(conn: LiveConnection, device: Device, iceServers: IceServer[], layer: Layer) {
    this.#conn = conn;
    this.#device = device;
    this.#iceServers = iceServers;
    this.#layer = signal(layer);
  }

  /** `layer`: the viewer's pinned quality, carried over when the media is rebuilt. */
  static async create(conn: LiveConnection, session: MediaSession, layer: Layer = 'auto'): Promise<Receiver> {
    return new Receiver(conn, await loadDevice(session.routerRtpCapabilities), session.iceServers, layer);
  }

  get tracks(): ReadonlySignal<ReceivedTracks> {
    return this.#tracks;
  }

  get layer(): ReadonlySignal<Layer> {
    return this.#layer;
  }

  get closed(): boolean {
    return this.#closed;
  }

  consume(producer: ProducerInfo): Promise<void> {
    return this.#queue.push(() => this.#consume(producer));
  }

  /** The producer is gone (`producer_removed`). */
  dropProducer(producerId: string): void {
    for (const [id, c] of this.#consumers) if (c.consumer.producerId === producerId) this.#drop(id);
  }

  /** The server closed one of our consumers (`consumer_closed`). */
  dropConsumer(consumerId: string): void {
    this.#drop(consumerId);
  }

  /** Pins the video quality (`auto` lets the SFU follow the bandwidth). */
  setLayer(layer: Layer): Promise<void> {
    this.#layer.value = layer;
    return this.#queue.push(async () => {
      for (const [id, c] of this.#consumers) {
        if (c.simulcast && !this.#closed) await this.#conn.request({ type: 'set_layer', consumerId: id, layer }, 'ack');
      }
    });
  }

  async #ensureTransport(): Promise<types.Transport> {
    if (this.#transport && !this.#transport.closed) return this.#transport;
    const offer = await requestTransport(this.#conn, 'recv');
    const transport = this.#device.createRecvTransport(transportOptions(offer, this.#iceServers));
    wireTransport(this.#conn, transport);
    this.#transport = transport;
    return transport;
  }

  async #consume(producer: ProducerInfo): Promise<void> {
    if (this.#closed) return;
    for (const c of this.#consumers.values()) if (c.consumer.producerId === producer.id) return;
    const transport = await this.#ensureTransport();
    const reply = await this.#conn.request(
      { type: 'consume', transportId: transport.id, producerId: producer.id, rtpCapabilities: this.#device.rtpCapabilities },
      'offer',
    );
    if (reply.kind !== 'consumer') throw new RequestError('internal', 'expected a consumer offer');
    const offer: ConsumerOffer = reply.consumer;
    if (this.#closed) return;
    const consumer = await transport.consume({
      id: offer.id,
      producerId: offer.producerId,
      kind: offer.kind,
      rtpParameters: offer.rtpParameters as types.RtpParameters,
    });
    if (this.#closed) {
      consumer.close();
      return;
    }
    const simulcast = offer.type === 'simulcast';
    this.#consumers.set(offer.id, { consumer, source: offer.source, simulcast });
    consumer.on('transportclose', () => this.#drop(offer.id));
    this.#publishTracks();
    if (simulcast && this.#layer.peek() !== 'auto') {
      await this.#conn.request({ type: 'set_layer', consumerId: offer.id, layer: this.#layer.peek() }, 'ack');
    }
    await this.#conn.request({ type: 'resume_consumer', consumerId: offer.id }, 'ack');
  }

  #drop(consumerId: string): void {
    const c = this.#consumers.get(consumerId);
    if (!c) return;
    this.#consumers.delete(consumerId);
    c.consumer.close();
    this.#publishTracks();
  }

  #publishTracks(): void {
    const tracks: ReceivedTracks = {};
    for (const c of this.#consumers.values()) tracks[c.source] = c.consumer.track;
    this.#tracks.value = tracks;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of this.#consumers.values()) c.consumer.close();
    this.#consumers.clear();
    this.#transport?.close();
    this.#transport = null;
    this.#tracks.value = {};
  }
}
