import { isSfuError, type ProducerInfo, type ProducerSource, type RtpParameters, type TransportHealth } from '@redred/sfu';
import { AppError } from '../errors.ts';
import type { LiveContext } from '../live/context.ts';
import { markLive } from '../live/lifecycle.ts';
import { toAppError } from '../live/signaling.ts';
import type { StreamRoom } from '../live/room.ts';
import { writeAnswer, type AnswerSection } from './answer.ts';
import { orderLayersByBitrate } from './layers.ts';
import { planPublish, type PublishPlan } from './negotiate.ts';
import type { ParsedOffer } from './offer.ts';
import { MediaSession } from './session.ts';
import type { StreamKeyAuth } from './stream-keys.ts';

/** Samples (one per tick) with every simulcast layer flowing before the layer order is checked; then it is settled. */
const LAYER_SAMPLES = 2;
/** Give up checking the layer order after this many ticks connected (a layer may never be sent: low uplink). */
const LAYER_CHECK_MAX_TICKS = 20;
/** The key is re-read this often (ticks): a rotation made by the CLI also disconnects the encoder. */
const KEY_CHECK_TICKS = 5;

export interface WhipOpenArgs {
  ctx: LiveContext;
  room: StreamRoom;
  keys: StreamKeyAuth;
  channel: { id: number; username: string };
  keyHash: string;
  offer: ParsedOffer;
}

interface PublishedVideo {
  producerId: string;
  rtpParameters: RtpParameters;
  /** rids lowest quality first: the producer's encoding order. */
  order: string[];
}

/**
 * A WHIP ingest session (RFC 9725): the streamer's encoder (OBS, a browser
 * page, GStreamer…) publishing to its channel's stream through one send
 * transport. Simulcast layers are checked once against the bitrate each
 * really carries, and the producer is remade lowest-first if the offer's
 * order was not.
 */
export class WhipSession extends MediaSession {
  readonly kind = 'whip';
  readonly channelId: number;
  readonly keyHash: string;
  answer = '';
  readonly #keys: StreamKeyAuth;
  #video: PublishedVideo | undefined;
  #ticks = 0;
  #layerSamples = 0;
  #layersSettled = false;

  private constructor(args: WhipOpenArgs) {
    const { ctx, room, channel, offer } = args;
    super({
      ctx,
      room,
      user: { id: channel.id, username: channel.username },
      role: 'streamer',
      clientIce: offer.ice,
      sections: offer.sections.map((s) => ({ mid: s.mid, kind: s.kind })),
    });
    this.channelId = channel.id;
    this.keyHash = args.keyHash;
    this.#keys = args.keys;
  }

  /** Plans every section first (a refusal costs no transport), then makes the transport and producers; undone on any failure. */
  static async open(args: WhipOpenArgs): Promise<WhipSession> {
    const { ctx, room, offer } = args;
    const caps = room.media.rtpCapabilities;
    const plans: PublishPlan[] = offer.sections.map((s) => planPublish(s, caps));
    const session = new WhipSession(args);
    const media = room.media;
    try {
      const transport = await session.media(() => media.createTransport(session.peerId, 'send'));
      session.transportId = transport.id;
      // Our DTLS role is the opposite of the client's: server (passive) unless the client insists on being it.
      const clientIsServer = offer.dtls.role === 'server';
      await session.media(() => media.connectTransport(session.peerId, transport.id, { role: clientIsServer ? 'server' : 'client', fingerprints: offer.dtls.fingerprints }));
      for (const plan of plans) {
        const source: ProducerSource = plan.kind === 'video' ? 'camera' : 'microphone';
        const producerId = await session.#produce(source, plan.rtpParameters);
        if (plan.kind === 'video') {
          session.#video = { producerId, rtpParameters: plan.rtpParameters, order: (plan.rtpParameters.encodings ?? []).map((e) => e.rid ?? '').filter(Boolean) };
        }
      }
      const sections: AnswerSection[] = offer.sections.map((s, i) => ({ mid: s.mid, kind: s.kind, direction: 'recvonly', media: plans[i]!.answer }));
      session.answer = writeAnswer({ transport, setup: clientIsServer ? 'active' : 'passive', sections, extmapAllowMixed: offer.extmapAllowMixed });
    } catch (err) {
      media.closePeer(session.peerId);
      throw err;
    }
    session.#layersSettled = (session.#video?.order.length ?? 0) < 2;
    session.start();
    if (session.#video) await markLive(ctx, room);
    ctx.log.info({ module: 'whip', session: session.id, streamId: room.streamId, sections: offer.sections.map((s) => s.kind), layers: session.#video?.order }, 'WHIP session started');
    return session;
  }

  /** rids of the video producer, lowest quality first (empty without simulcast). */
  get layerOrder(): string[] {
    return [...(this.#video?.order ?? [])];
  }

  get layersSettled(): boolean {
    return this.#layersSettled;
  }

  async #produce(source: ProducerSource, rtpParameters: RtpParameters): Promise<string> {
    const kind = source === 'microphone' ? 'audio' : 'video';
    try {
      return await this.room.media.produce(this.peerId, this.transportId, { kind, rtpParameters, source });
    } catch (err) {
      // mediasoup refusing the parameters is the offer's fault: 422, like any SDP we cannot take.
      if (isSfuError(err) && err.code === 'invalid_parameters') throw new AppError('unsupported_sdp', `the media server refused the offer's RTP parameters: ${err.message}`);
      throw toAppError(err);
    }
  }

  /** Its own producers close with it; nobody else's producers concern a publisher. */
  protected producerRemoved(_p: ProducerInfo): void {}

  protected async becameConnected(): Promise<void> {}

  protected async connectedTick(_health: TransportHealth): Promise<void> {
    this.#ticks++;
    if (this.#ticks % KEY_CHECK_TICKS === 0 && !(await this.#keys.stillValid(this.keyHash, this.channelId))) {
      return this.close('key_rotated');
    }
    if (!this.#layersSettled) await this.#checkLayerOrder();
  }

  async #checkLayerOrder(): Promise<void> {
    const video = this.#video;
    if (!video || this.closed) return;
    if (this.#ticks > LAYER_CHECK_MAX_TICKS) {
      this.#layersSettled = true;
      this.ctx.log.info({ module: 'whip', session: this.id, layers: video.order }, 'not every simulcast layer arrived: keeping the offer order');
      return;
    }
    const streams = await this.room.media.producerStreams(this.peerId, video.producerId);
    const bitrates = new Map(streams.filter((s) => s.rid).map((s) => [s.rid!, s.bitrate]));
    if (video.order.some((rid) => !((bitrates.get(rid) ?? 0) > 0))) {
      this.#layerSamples = 0;
      return;
    }
    if (++this.#layerSamples < LAYER_SAMPLES) return;
    this.#layersSettled = true;
    const measured = orderLayersByBitrate(video.order, bitrates);
    if (!measured || measured.every((rid, i) => rid === video.order[i])) return;
    this.ctx.log.info({ module: 'whip', session: this.id, offered: video.order, measured, bitrates: Object.fromEntries(bitrates) }, 'simulcast layers arrive in another order: remaking the producer lowest first');
    // Chromium stops sending the mid and rid header extensions once its SSRCs are acknowledged: the new
    // producer is told the SSRC of each layer, or the router could not route the layers to it.
    const encodings = measured.map((rid) => {
      const stream = streams.find((s) => s.rid === rid)!;
      return { rid, ssrc: stream.ssrc, ...(stream.rtxSsrc ? { rtx: { ssrc: stream.rtxSsrc } } : {}) };
    });
    const rtpParameters: RtpParameters = { ...video.rtpParameters, encodings };
    this.room.media.closeProducer(this.peerId, video.producerId);
    const producerId = await this.#produce('camera', rtpParameters);
    this.#video = { producerId, rtpParameters, order: measured };
  }
}
