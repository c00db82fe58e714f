import { isSfuError, type ConsumerOffer, type LayerPreference, type ProducerInfo, type TransportHealth } from '@redred/sfu';
import { AppError } from '../errors.ts';
import type { LiveContext } from '../live/context.ts';
import type { StreamRoom } from '../live/room.ts';
import { toAppError } from '../live/signaling.ts';
import type { AuthUser } from '../plugins/auth.ts';
import type { Role } from '../protocol/constants.ts';
import { writeAnswer, type AnswerSection } from './answer.ts';
import { playCapabilities } from './negotiate.ts';
import type { OfferSection, ParsedOffer } from './offer.ts';
import { MediaSession } from './session.ts';

export interface WhepOpenArgs {
  ctx: LiveContext;
  room: StreamRoom;
  user: AuthUser | null;
  role: Role;
  offer: ParsedOffer;
  /** A pinned simulcast layer; 'auto' lets the SFU's bandwidth estimate choose. */
  layer: LayerPreference;
}

/**
 * A WHEP playback session: a viewer's player receiving the stream's camera
 * and microphone through one recv transport, placed like any viewer's (origin
 * or fan-out router). Consumers are resumed once DTLS is up, so the first
 * keyframe reaches a player that can decode it. The layer follows the SFU's
 * bandwidth estimate unless pinned.
 */
export class WhepSession extends MediaSession {
  readonly kind = 'whep';
  answer = '';
  readonly #consumers: ConsumerOffer[] = [];
  #layer: LayerPreference;

  private constructor(args: WhepOpenArgs) {
    super({ ctx: args.ctx, room: args.room, user: args.user, role: args.role, clientIce: args.offer.ice, sections: args.offer.sections.map((s) => ({ mid: s.mid, kind: s.kind })) });
    this.#layer = args.layer;
  }

  static async open(args: WhepOpenArgs): Promise<WhepSession> {
    const { room, offer } = args;
    const media = room.media;
    const producers = media.getProducers();
    const producerFor = (section: OfferSection) =>
      section.kind === 'video' ? (producers.find((p) => p.source === 'camera') ?? producers.find((p) => p.kind === 'video')) : producers.find((p) => p.source === 'microphone');
    if (!producers.some((p) => p.kind === 'video')) throw new AppError('stream_not_live', 'this stream has no video right now; try again when it is live');

    const session = new WhepSession(args);
    try {
      const transport = await session.media(() => media.createTransport(session.peerId, 'recv'));
      session.transportId = transport.id;
      const clientIsServer = offer.dtls.role === 'server';
      await session.media(() => media.connectTransport(session.peerId, transport.id, { role: clientIsServer ? 'server' : 'client', fingerprints: offer.dtls.fingerprints }));
      const sections: AnswerSection[] = [];
      for (const section of offer.sections) {
        const producer = producerFor(section);
        const caps = playCapabilities(section, media.rtpCapabilities, offer.sections.flatMap((s) => s.headerExtensions));
        if (!producer) {
          // Nothing of this kind is published (a stream without audio): the section stays, inactive.
          const codec = caps.codecs?.[0];
          if (!codec) throw new AppError('unsupported_sdp', `no offered ${section.kind} codec is supported`);
          sections.push({ mid: section.mid, kind: section.kind, direction: 'inactive', media: { codecs: [{ payloadType: codec.preferredPayloadType!, mimeType: codec.mimeType, clockRate: codec.clockRate, ...(codec.channels ? { channels: codec.channels } : {}), parameters: codec.parameters ?? {}, rtcpFeedback: [] }], headerExtensions: [], rids: [] } });
          continue;
        }
        const consumer = await session.#consume(producer, caps);
        session.#consumers.push(consumer);
        if (consumer.kind === 'video' && consumer.type === 'simulcast' && session.#layer !== 'auto') {
          await session.media(() => media.setPreferredLayer(session.peerId, consumer.id, session.#layer));
        }
        const { rtpParameters } = consumer;
        const encoding = rtpParameters.encodings?.[0];
        sections.push({
          mid: section.mid,
          kind: section.kind,
          direction: 'sendonly',
          media: {
            codecs: rtpParameters.codecs.map((c) => ({ payloadType: c.payloadType, mimeType: c.mimeType, clockRate: c.clockRate, ...(c.channels ? { channels: c.channels } : {}), parameters: c.parameters ?? {}, rtcpFeedback: c.rtcpFeedback ?? [] })),
            headerExtensions: (rtpParameters.headerExtensions ?? []).map((e) => ({ uri: e.uri, id: e.id })),
            rids: [],
          },
          send: {
            ssrc: encoding!.ssrc!,
            ...(encoding?.rtx?.ssrc ? { rtxSsrc: encoding.rtx.ssrc } : {}),
            cname: rtpParameters.rtcp?.cname ?? `redred-${room.streamId}`,
            streamId: `redred-${room.streamId}`,
            trackId: `${section.kind}-${consumer.id}`,
          },
        });
      }
      session.answer = writeAnswer({ transport, setup: clientIsServer ? 'active' : 'passive', sections, extmapAllowMixed: offer.extmapAllowMixed });
    } catch (err) {
      media.closePeer(session.peerId);
      throw err;
    }
    session.start();
    args.ctx.log.info({ module: 'whep', session: session.id, streamId: room.streamId, layer: session.#layer, user: args.user?.id ?? null }, 'WHEP session started');
    return session;
  }

  get layer(): LayerPreference {
    return this.#layer;
  }

  /** Pins the video layer ('auto': the SFU's bandwidth estimate decides again). */
  async setLayer(layer: LayerPreference): Promise<void> {
    for (const consumer of this.#consumers) {
      if (consumer.kind !== 'video' || consumer.type !== 'simulcast') continue;
      await this.media(() => this.room.media.setPreferredLayer(this.peerId, consumer.id, layer));
    }
    this.#layer = layer;
  }

  async #consume(producer: ProducerInfo, caps: ReturnType<typeof playCapabilities>): Promise<ConsumerOffer> {
    try {
      return await this.room.media.consume(this.peerId, this.transportId, producer.id, caps);
    } catch (err) {
      if (isSfuError(err, 'cannot_consume') || isSfuError(err, 'invalid_parameters')) {
        throw new AppError('unsupported_sdp', `the player offered no codec this stream's ${producer.kind} can be sent in`);
      }
      throw toAppError(err);
    }
  }

  protected producerRemoved(p: ProducerInfo): void {
    // A player cannot renegotiate: when what it watches goes, the session ends and the player may POST again.
    if (this.#consumers.some((c) => c.producerId === p.id)) this.close('producer_closed');
  }

  protected async becameConnected(): Promise<void> {
    for (const consumer of this.#consumers) await this.media(() => this.room.media.resumeConsumer(this.peerId, consumer.id));
  }

  protected async connectedTick(_health: TransportHealth): Promise<void> {}
}
