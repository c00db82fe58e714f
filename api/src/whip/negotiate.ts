import { isSameProfile } from 'h264-profile-level-id';
import type { RtpCapabilities, RtpParameters } from '@redred/sfu';
import { AppError } from '../errors.ts';
import { orderLayersBySdp } from './layers.ts';
import type { MediaKind, OfferedCodec, OfferSection } from './offer.ts';

// Offer sections ↔ mediasoup. A WHIP section becomes a producer's RTP
// parameters (the client's payload types and extension ids: mediasoup maps
// them to the router's); a WHEP section becomes the RTP capabilities a
// consumer is made for. mediasoup's own matching rules apply (H.264:
// packetization-mode and profile; VP9: profile-id), so what we answer is what
// the router then accepts.

type RouterCodec = RtpCapabilities['codecs'] extends (infer C)[] | undefined ? C : never;
type RouterExtension = RtpCapabilities['headerExtensions'] extends (infer E)[] | undefined ? E : never;

export const URIS = {
  mid: 'urn:ietf:params:rtp-hdrext:sdes:mid',
  rid: 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
  repairedRid: 'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id',
} as const;

/** What an answer section says about its media: the codecs, extensions and simulcast layers accepted. */
export interface AnsweredMedia {
  codecs: { payloadType: number; mimeType: string; clockRate: number; channels?: number; parameters: Record<string, unknown>; rtcpFeedback: { type: string; parameter?: string }[] }[];
  headerExtensions: { uri: string; id: number }[];
  /** Simulcast layer ids the answer accepts, in the offer's order. */
  rids: string[];
}

export interface PublishPlan {
  kind: MediaKind;
  rtpParameters: RtpParameters;
  answer: AnsweredMedia;
}

const isRtx = (mimeType: string) => /\/rtx$/i.test(mimeType);
/** Payload formats that are not a media codec of their own. */
const isAuxiliary = (mimeType: string) => /\/(rtx|red|ulpfec|flexfec-03|cn|telephone-event)$/i.test(mimeType);

/** mediasoup's strict codec match, from the offer's side. */
export function codecMatches(offered: Pick<OfferedCodec, 'mimeType' | 'clockRate' | 'channels' | 'parameters'>, cap: RouterCodec): boolean {
  const mime = offered.mimeType.toLowerCase();
  if (mime !== cap.mimeType.toLowerCase() || offered.clockRate !== cap.clockRate) return false;
  if (cap.kind === 'audio' && (offered.channels ?? 1) !== (cap.channels ?? 1)) return false;
  const a = offered.parameters;
  const b = cap.parameters ?? {};
  if (mime === 'video/h264') {
    if (Number(a['packetization-mode'] ?? 0) !== Number(b['packetization-mode'] ?? 0)) return false;
    return isSameProfile(a, b);
  }
  if (mime === 'video/vp9') return Number(a['profile-id'] ?? 0) === Number(b['profile-id'] ?? 0);
  return true;
}

function describeCodec(codec: { mimeType: string; parameters: Readonly<Record<string, unknown>> }): string {
  const name = codec.mimeType.split('/')[1] ?? codec.mimeType;
  if (/h264/i.test(name)) return `H264 (profile-level-id ${String(codec.parameters['profile-level-id'] ?? '?')}, packetization-mode ${String(codec.parameters['packetization-mode'] ?? 0)})`;
  return name;
}

function supportedList(caps: RtpCapabilities, kind: MediaKind): string {
  return (caps.codecs ?? []).filter((c) => c.kind === kind && !isRtx(c.mimeType)).map((c) => describeCodec({ mimeType: c.mimeType, parameters: c.parameters ?? {} })).join(', ');
}

function feedbackIntersection(offered: OfferedCodec['rtcpFeedback'], cap: RouterCodec): OfferedCodec['rtcpFeedback'] {
  const supported = cap.rtcpFeedback ?? [];
  return offered.filter((fb) => supported.some((s) => s.type === fb.type && (s.parameter ?? '') === (fb.parameter ?? '')));
}

/** The router's extensions a sender may use towards it. */
function receivableExtension(caps: RtpCapabilities, kind: MediaKind, uri: string): RouterExtension | undefined {
  return (caps.headerExtensions ?? []).find((e) => e.kind === kind && e.uri === uri && (e.direction === undefined || e.direction === 'sendrecv' || e.direction === 'recvonly'));
}

/** A WHIP section → the producer's RTP parameters and what the answer accepts. */
export function planPublish(section: OfferSection, caps: RtpCapabilities): PublishPlan {
  const routerCodecs = (caps.codecs ?? []).filter((c) => c.kind === section.kind);
  let chosen: { offered: OfferedCodec; cap: RouterCodec } | undefined;
  for (const offered of section.codecs) {
    if (isAuxiliary(offered.mimeType)) continue;
    const cap = routerCodecs.find((c) => !isRtx(c.mimeType) && codecMatches(offered, c));
    if (cap) {
      chosen = { offered, cap };
      break;
    }
  }
  if (!chosen) {
    const offered = section.codecs.filter((c) => !isAuxiliary(c.mimeType)).map(describeCodec).join(', ') || 'none';
    throw new AppError('unsupported_sdp', `no offered ${section.kind} codec is supported (offered: ${offered}; this server takes: ${supportedList(caps, section.kind)})`);
  }
  const media = { ...chosen.offered, rtcpFeedback: feedbackIntersection(chosen.offered.rtcpFeedback, chosen.cap) };
  const rtxCap = routerCodecs.some((c) => isRtx(c.mimeType));
  const rtx = rtxCap ? section.codecs.find((c) => isRtx(c.mimeType) && Number(c.parameters.apt) === media.payloadType) : undefined;
  const codecs = rtx ? [media, { ...rtx, rtcpFeedback: [] }] : [media];

  const headerExtensions = section.headerExtensions.filter((e) => receivableExtension(caps, section.kind, e.uri));
  const has = (uri: string) => headerExtensions.some((e) => e.uri === uri);

  let encodings: RtpParameters['encodings'];
  let rids: string[] = [];
  if (section.rids.length > 1) {
    if (!has(URIS.rid)) throw new AppError('unsupported_sdp', `media section ${section.mid} offers simulcast without the ${URIS.rid} header extension`);
    rids = section.rids.map((r) => r.id);
    encodings = orderLayersBySdp(section.rids).map((rid) => ({ rid }));
  } else if (section.rids.length === 1) {
    // One "layer" is no simulcast: the stream is found by its rid, or by mid.
    rids = [section.rids[0]!.id];
    encodings = has(URIS.rid) ? [{ rid: section.rids[0]!.id }] : [{}];
  } else if (section.ssrcs.length > 0) {
    const first = section.ssrcs[0]!;
    encodings = [rtx && first.rtxSsrc ? { ssrc: first.ssrc, rtx: { ssrc: first.rtxSsrc } } : { ssrc: first.ssrc }];
  } else {
    // No SSRC announced (allowed by JSEP): mediasoup finds the stream by its mid.
    if (!has(URIS.mid)) throw new AppError('unsupported_sdp', `media section ${section.mid} announces no a=ssrc and no ${URIS.mid} header extension: its RTP could not be told apart`);
    encodings = [{}];
  }
  if (encodings.length === 1 && !encodings[0]!.ssrc && !has(URIS.mid) && !has(URIS.rid)) {
    throw new AppError('unsupported_sdp', `media section ${section.mid} needs a=ssrc or the ${URIS.mid} header extension`);
  }

  const rtpParameters: RtpParameters = {
    mid: section.mid,
    codecs: codecs.map((c) => ({
      mimeType: c.mimeType,
      payloadType: c.payloadType,
      clockRate: c.clockRate,
      ...(c.channels !== undefined ? { channels: c.channels } : {}),
      parameters: c.parameters,
      rtcpFeedback: c.rtcpFeedback,
    })),
    headerExtensions: headerExtensions.map((e) => ({ uri: e.uri, id: e.id })),
    encodings,
    rtcp: { ...(section.cname ? { cname: section.cname } : {}), reducedSize: section.reducedSizeRtcp },
  } as RtpParameters;
  return { kind: section.kind, rtpParameters, answer: { codecs, headerExtensions, rids } };
}

/**
 * A WHEP section → the RTP capabilities a consumer is made for. Codecs keep
 * the player's payload types; RTX only where the player numbers it as the
 * router does (mediasoup sends RTX with the router's number). Extensions:
 * mediasoup writes its own ids and only keeps those, and a player refuses an
 * answer that gives an id it offered for another extension, so an extension
 * is kept only where the router's id is free or the same in the offer (with
 * Chromium's numbering that leaves toffset; bandwidth feedback extensions
 * collide, and the layer of an unpinned player is then the top one). The MID
 * extension is never kept: a consumer's mid is mediasoup's, not the player's,
 * so the player finds the stream by the SSRC the answer announces instead.
 */
export function playCapabilities(section: OfferSection, caps: RtpCapabilities, bundleExtensions: readonly { uri: string; id: number }[] = section.headerExtensions): RtpCapabilities {
  const routerCodecs = (caps.codecs ?? []).filter((c) => c.kind === section.kind);
  const codecs: RouterCodec[] = [];
  for (const offered of section.codecs) {
    if (isAuxiliary(offered.mimeType)) continue;
    const cap = routerCodecs.find((c) => !isRtx(c.mimeType) && codecMatches(offered, c));
    if (!cap) continue;
    codecs.push({
      kind: section.kind,
      mimeType: cap.mimeType,
      preferredPayloadType: offered.payloadType,
      clockRate: cap.clockRate,
      ...(cap.channels !== undefined ? { channels: cap.channels } : {}),
      parameters: offered.parameters,
      rtcpFeedback: feedbackIntersection(offered.rtcpFeedback, cap),
    });
    const routerRtx = routerCodecs.find((c) => isRtx(c.mimeType) && Number(c.parameters?.apt) === cap.preferredPayloadType);
    const offeredRtx = section.codecs.find((c) => isRtx(c.mimeType) && Number(c.parameters.apt) === offered.payloadType);
    if (routerRtx && offeredRtx && offeredRtx.payloadType === routerRtx.preferredPayloadType) {
      codecs.push({ kind: section.kind, mimeType: offeredRtx.mimeType, preferredPayloadType: offeredRtx.payloadType, clockRate: offeredRtx.clockRate, parameters: { apt: offered.payloadType }, rtcpFeedback: [] });
    }
  }
  // An answer may not give an id the offer uses for another extension (BUNDLE: one id space for all sections).
  const offeredIds = new Map<number, string>();
  for (const e of bundleExtensions) offeredIds.set(e.id, e.uri);
  const headerExtensions: RouterExtension[] = [];
  for (const e of section.headerExtensions) {
    if (e.uri === URIS.mid || e.uri === URIS.rid || e.uri === URIS.repairedRid) continue;
    const cap = (caps.headerExtensions ?? []).find((c) => c.kind === section.kind && c.uri === e.uri && (c.direction === undefined || c.direction === 'sendrecv' || c.direction === 'sendonly'));
    if (!cap) continue;
    const taken = offeredIds.get(cap.preferredId);
    if (taken !== undefined && taken !== cap.uri) continue;
    headerExtensions.push({ kind: section.kind, uri: cap.uri, preferredId: cap.preferredId, direction: 'sendrecv' });
  }
  return { codecs, headerExtensions };
}
