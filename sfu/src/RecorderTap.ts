import type { types as ms } from 'mediasoup';
import { callMediasoup, SfuError } from './errors.ts';
import type { OriginRouter } from './OriginRouter.ts';
import type { MediaContext, MediaKind, RtpParameters } from './StreamRouterTypes.ts';
import { TypedEmitter } from './TypedEmitter.ts';

/** Where the recorder listens for one kind: RTP on `rtpPort`, RTCP on `rtcpPort` (ffmpeg's SDP input reads both). */
export interface RecorderTarget {
  rtpPort: number;
  rtcpPort: number;
}

export interface RecorderTapRequest {
  /** The recorder's address (it runs on this machine: 127.0.0.1). */
  ip: string;
  video: RecorderTarget;
  audio?: RecorderTarget | undefined;
}

/** One recorded track: what the recorder's SDP must describe. */
export interface RecorderTrack {
  kind: MediaKind;
  producerId: string;
  rtpParameters: RtpParameters;
}

/**
 * Why a tap closed. 'closed': its owner stopped it. 'producerclose': a
 * recorded producer went away (streamer left or republished). 'routerclose':
 * the origin router closed (stream closed, or its worker died).
 */
export type RecorderTapCloseReason = 'closed' | 'producerclose' | 'routerclose';

export type RecorderTapEvents = {
  close: [RecorderTapCloseReason];
};

/**
 * The recorder's view of a stream: one PlainTransport per kind on the origin
 * router, each sending one consumer's RTP (+ RTCP sender reports, which ffmpeg
 * needs to line audio up with video) to the recorder's ports.
 *
 * Consumers start paused: the owner resumes them once the recorder is
 * listening, then asks for a keyframe, or the recorder would start on delta
 * frames it cannot decode. The recorder sends no NACK, so the capabilities
 * offer no RTX and no feedback: on loopback nothing is lost, and the upload's
 * losses were already repaired on the producer side.
 */
export class RecorderTap extends TypedEmitter<RecorderTapEvents> {
  readonly tracks: readonly RecorderTrack[];
  readonly #transports: ms.PlainTransport[];
  readonly #consumers: ms.Consumer[];
  readonly #ctx: MediaContext;
  #closed = false;

  static async create(origin: OriginRouter, ctx: MediaContext, request: RecorderTapRequest): Promise<RecorderTap> {
    const producers = origin.producers();
    const video =
      producers.find((p) => p.source === 'camera' && !p.closed) ?? producers.find((p) => p.source === 'screen' && !p.closed);
    if (!video) throw new SfuError('producer_not_found', 'no video producer to record');
    const audio = request.audio ? producers.find((p) => p.source === 'microphone' && !p.closed) : undefined;
    const wanted: [ms.MediaKind, string, RecorderTarget][] = [['video', video.id, request.video]];
    if (audio && request.audio) wanted.push(['audio', audio.id, request.audio]);

    const transports: ms.PlainTransport[] = [];
    const consumers: ms.Consumer[] = [];
    try {
      for (const [kind, producerId, target] of wanted) {
        // The worker's own port range, like every other transport of this worker.
        const transport = await callMediasoup('create recorder transport', () =>
          origin.router.createPlainTransport({
            listenInfo: { protocol: 'udp', ip: '127.0.0.1', portRange: ctx.portRange(origin.worker) },
            rtcpMux: false,
            comedia: false,
            appData: { role: 'recorder', kind },
          }),
        );
        transports.push(transport);
        await callMediasoup('connect recorder transport', () =>
          transport.connect({ ip: request.ip, port: target.rtpPort, rtcpPort: target.rtcpPort }),
        );
        const consumer = await callMediasoup('consume for recorder', () =>
          transport.consume({ producerId, rtpCapabilities: recorderCapabilities(origin.router, kind), paused: true }),
        );
        consumers.push(consumer);
      }
    } catch (error) {
      for (const transport of transports) transport.close();
      throw error;
    }
    return new RecorderTap(ctx, transports, consumers);
  }

  private constructor(ctx: MediaContext, transports: ms.PlainTransport[], consumers: ms.Consumer[]) {
    super((event, error) => ctx.log.error({ streamId: ctx.streamId, event, err: error }, 'RecorderTap listener failed'));
    this.#ctx = ctx;
    this.#transports = transports;
    this.#consumers = consumers;
    this.tracks = consumers.map((c) => ({ kind: c.kind, producerId: c.producerId, rtpParameters: c.rtpParameters }));
    for (const transport of transports) transport.on('routerclose', () => this.#close('routerclose'));
    for (const consumer of consumers) {
      consumer.on('producerclose', () => this.#close('producerclose'));
      consumer.on('transportclose', () => this.#close('routerclose'));
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Starts the flow (the recorder listens by now) and asks the streamer for a keyframe. */
  async resume(): Promise<void> {
    this.#assertOpen();
    for (const consumer of this.#consumers) await callMediasoup('resume recorder consumer', () => consumer.resume());
    await this.requestKeyFrame();
  }

  /** A keyframe lets the recorder start decoding and lets its segmenter cut a new segment. */
  async requestKeyFrame(): Promise<void> {
    if (this.#closed) return;
    const video = this.#consumers.find((c) => c.kind === 'video' && !c.closed);
    if (video) await callMediasoup('recorder keyframe', () => video.requestKeyFrame());
  }

  /** Bytes sent to the recorder so far (metrics). */
  async bytesSent(): Promise<number> {
    if (this.#closed) return 0;
    let bytes = 0;
    for (const consumer of this.#consumers) {
      const stats = await consumer.getStats().catch(() => []);
      for (const s of stats) if (s.type === 'outbound-rtp') bytes += s.byteCount;
    }
    return bytes;
  }

  close(): void {
    this.#close('closed');
  }

  #close(reason: RecorderTapCloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const transport of this.#transports) transport.close();
    this.#ctx.log.debug({ streamId: this.#ctx.streamId, reason }, 'recorder tap closed');
    this.safeEmit('close', reason);
  }

  #assertOpen(): void {
    if (this.#closed) throw new SfuError('stream_closed', 'the recorder tap is closed');
  }
}

/** The router's codecs of one kind, without RTX and without RTCP feedback: what a plain RTP recorder can take. */
function recorderCapabilities(router: ms.Router, kind: ms.MediaKind): ms.RtpCapabilities {
  const codecs = (router.rtpCapabilities.codecs ?? [])
    .filter((codec) => codec.kind === kind && !codec.mimeType.toLowerCase().endsWith('/rtx'))
    .map((codec) => ({ ...codec, rtcpFeedback: [] }));
  return { codecs, headerExtensions: [] };
}
