import * as sdpTransform from 'sdp-transform';
import type { MediaDescription, SessionDescription } from 'sdp-transform';
import { AppError } from '../errors.ts';

// An SDP offer from a WHIP or WHEP client, parsed with sdp-transform and
// checked against what RFC 9725 allows, before any media object exists:
// a bad offer costs no transport. Malformed SDP is a 400 (invalid_sdp);
// well-formed SDP we cannot serve is a 422 (unsupported_sdp), for the whole
// offer — the RFC asks for no partially successful sessions.

/** Bounds on what a client may ask for; a real offer from OBS or a browser is far below each. */
export const OFFER_LIMITS = {
  maxSections: 4,
  maxCodecsPerSection: 64,
  maxHeaderExtensions: 32,
  /** OBS sends up to 4 simulcast layers; browsers 3. */
  maxSimulcastLayers: 4,
} as const;

export type MediaKind = 'audio' | 'video';
export type OfferDirection = 'sendonly' | 'recvonly' | 'sendrecv' | 'inactive';

export interface OfferedCodec {
  payloadType: number;
  /** `video/H264`, `audio/opus`, `video/rtx` … */
  mimeType: string;
  clockRate: number;
  channels?: number;
  parameters: Record<string, string | number>;
  rtcpFeedback: { type: string; parameter?: string }[];
}

export interface OfferedRid {
  id: string;
  /** a=rid restrictions (RFC 8851): `max-width`, `max-height`, `max-br`, `max-fps`, … */
  restrictions: Record<string, string>;
}

export interface OfferSection {
  mid: string;
  kind: MediaKind;
  direction: OfferDirection;
  codecs: OfferedCodec[];
  headerExtensions: { uri: string; id: number }[];
  /** Media SSRCs in a=ssrc order, with the RTX SSRC an a=ssrc-group:FID pairs with each. */
  ssrcs: { ssrc: number; rtxSsrc?: number }[];
  cname: string | undefined;
  /** Simulcast layers in a=simulcast order (empty: one stream). */
  rids: OfferedRid[];
  reducedSizeRtcp: boolean;
}

export interface ParsedOffer {
  sections: OfferSection[];
  dtls: { role: 'auto' | 'client' | 'server'; fingerprints: { algorithm: string; value: string }[] };
  ice: { usernameFragment: string; password: string };
  extmapAllowMixed: boolean;
}

const invalid = (message: string) => new AppError('invalid_sdp', message);
const unsupported = (message: string) => new AppError('unsupported_sdp', message);

/**
 * Parses and checks an offer. `expect` is what the endpoint serves: WHIP takes
 * `sendonly`/`sendrecv` sections, WHEP `recvonly`/`sendrecv`.
 */
export function parseOffer(text: string, expect: 'publish' | 'play'): ParsedOffer {
  if (!/^v=0\r?\n/.test(text)) throw invalid('the body is not an SDP offer (it must start with "v=0")');
  let sdp: SessionDescription;
  try {
    sdp = sdpTransform.parse(text);
  } catch (err) {
    throw invalid(`the SDP could not be parsed: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!sdp.origin || sdp.name === undefined) throw invalid('the SDP lacks its o= or s= line');
  const media = sdp.media ?? [];
  if (media.length === 0) throw unsupported('the offer has no media section: send at least one audio or video track');
  if (media.length > OFFER_LIMITS.maxSections) throw unsupported(`the offer has ${media.length} media sections; at most one audio and one video are taken`);

  const sections = media.map((m, index) => parseSection(m, index, expect));
  for (const kind of ['audio', 'video'] as const) {
    if (sections.filter((s) => s.kind === kind).length > 1) throw unsupported(`the offer has more than one ${kind} track; WHIP and WHEP carry one of each at most`);
  }
  const mids = new Set(sections.map((s) => s.mid));
  if (mids.size !== sections.length) throw invalid('two media sections share one a=mid');
  // One BUNDLE transport demultiplexes by SSRC and rid: each must name one stream of one section.
  const ssrcs = sections.flatMap((s) => s.ssrcs.flatMap((e) => (e.rtxSsrc ? [e.ssrc, e.rtxSsrc] : [e.ssrc])));
  if (new Set(ssrcs).size !== ssrcs.length) throw invalid('one SSRC is announced for two streams');
  const rids = sections.flatMap((s) => s.rids.map((r) => r.id));
  if (new Set(rids).size !== rids.length) throw invalid('one rid is used by two media sections');

  return {
    sections,
    dtls: dtlsOf(sdp, media),
    ice: iceOf(sdp, media),
    extmapAllowMixed: sdp.extmapAllowMixed !== undefined || media.some((m) => m.extmapAllowMixed !== undefined),
  };
}

function parseSection(m: MediaDescription, index: number, expect: 'publish' | 'play'): OfferSection {
  const where = `media section ${index}`;
  if (m.type !== 'audio' && m.type !== 'video') throw unsupported(`${where} is "${m.type}": only audio and video are taken (no data channels)`);
  if (!/^UDP\/TLS\/RTP\/SAVPF$|^(TCP\/)?(UDP\/)?TLS\/RTP\/SAVPF$/i.test(m.protocol ?? '')) {
    throw unsupported(`${where} uses "${m.protocol}"; WebRTC media must be UDP/TLS/RTP/SAVPF`);
  }
  if (m.mid === undefined || String(m.mid).length === 0) throw invalid(`${where} has no a=mid (BUNDLE needs one)`);
  if (String(m.mid).length > 32) throw invalid(`${where} has an a=mid longer than 32 characters`);
  const direction = (m.direction ?? 'sendrecv') as OfferDirection;
  const allowed: OfferDirection[] = expect === 'publish' ? ['sendonly', 'sendrecv'] : ['recvonly', 'sendrecv'];
  if (!allowed.includes(direction)) {
    throw unsupported(`${where} is ${direction}; ${expect === 'publish' ? 'a WHIP offer sends (sendonly)' : 'a WHEP offer receives (recvonly)'}`);
  }
  const rtp = m.rtp ?? [];
  if (rtp.length === 0) throw invalid(`${where} lists no codec (a=rtpmap)`);
  if (rtp.length > OFFER_LIMITS.maxCodecsPerSection) throw unsupported(`${where} lists more than ${OFFER_LIMITS.maxCodecsPerSection} codecs`);

  const codecs = new Map<number, OfferedCodec>();
  for (const r of rtp) {
    if (!Number.isInteger(r.payload) || r.payload < 0 || r.payload > 127) throw invalid(`${where} has payload type ${r.payload} outside 0–127`);
    if (!Number.isInteger(r.rate) || (r.rate ?? 0) <= 0) throw invalid(`${where}: ${r.codec} has no clock rate`);
    const codec: OfferedCodec = {
      payloadType: r.payload,
      mimeType: `${m.type}/${r.codec}`,
      clockRate: r.rate!,
      parameters: {},
      rtcpFeedback: [],
    };
    const channels = Number(r.encoding);
    if (m.type === 'audio' && Number.isInteger(channels) && channels > 0) codec.channels = channels;
    codecs.set(r.payload, codec);
  }
  for (const f of m.fmtp ?? []) {
    const codec = codecs.get(f.payload);
    if (!codec) continue;
    const params = sdpTransform.parseParams(f.config) as Record<string, string | number>;
    // sdp-transform reads 42e01f as a number-like string but 640032 as a number: keep the hex as written.
    if (params['profile-level-id'] !== undefined) params['profile-level-id'] = String(params['profile-level-id']);
    codec.parameters = params;
  }
  for (const fb of m.rtcpFb ?? []) {
    const feedback = fb.subtype ? { type: fb.type, parameter: fb.subtype } : { type: fb.type };
    if (fb.payload === '*') {
      for (const codec of codecs.values()) if (!/\/rtx$/i.test(codec.mimeType)) codec.rtcpFeedback.push(feedback);
    } else {
      codecs.get(Number(fb.payload))?.rtcpFeedback.push(feedback);
    }
  }

  const ext = m.ext ?? [];
  if (ext.length > OFFER_LIMITS.maxHeaderExtensions) throw unsupported(`${where} lists more than ${OFFER_LIMITS.maxHeaderExtensions} header extensions`);
  const headerExtensions = ext
    .filter((e) => !e['encrypt-uri'] && Number.isInteger(e.value) && e.value >= 1 && e.value <= 255)
    .map((e) => ({ uri: e.uri, id: e.value }));

  return {
    mid: String(m.mid),
    kind: m.type,
    direction,
    codecs: [...codecs.values()],
    headerExtensions,
    ...ssrcsOf(m),
    rids: ridsOf(m, where),
    reducedSizeRtcp: m.rtcpRsize !== undefined,
  };
}

function ssrcsOf(m: MediaDescription): { ssrcs: OfferSection['ssrcs']; cname: string | undefined } {
  const ordered: number[] = [];
  let cname: string | undefined;
  for (const line of m.ssrcs ?? []) {
    const ssrc = Number(line.id);
    if (!Number.isInteger(ssrc) || ssrc <= 0 || ssrc > 0xffffffff) continue;
    if (!ordered.includes(ssrc)) ordered.push(ssrc);
    if (line.attribute === 'cname' && line.value) cname ??= line.value;
  }
  const rtxOf = new Map<number, number>();
  for (const group of m.ssrcGroups ?? []) {
    if (group.semantics !== 'FID') continue;
    const [media, rtx] = group.ssrcs.split(/\s+/).map(Number);
    if (media && rtx) rtxOf.set(media, rtx);
  }
  const rtxSsrcs = new Set(rtxOf.values());
  const ssrcs = ordered.filter((ssrc) => !rtxSsrcs.has(ssrc)).map((ssrc) => (rtxOf.has(ssrc) ? { ssrc, rtxSsrc: rtxOf.get(ssrc)! } : { ssrc }));
  return { ssrcs, cname };
}

function ridsOf(m: MediaDescription, where: string): OfferedRid[] {
  if (!m.simulcast) return [];
  if (m.simulcast.dir1 !== 'send' && m.simulcast.dir2 !== 'send') return [];
  const list = m.simulcast.dir1 === 'send' ? m.simulcast.list1 : m.simulcast.list2;
  if (!list) return [];
  const declared = new Map((m.rids ?? []).filter((r) => r.direction === 'send').map((r) => [String(r.id), r.params ?? '']));
  const rids: OfferedRid[] = [];
  // a=simulcast:send h;m;l — alternatives ("a,b") take the first, paused ones ("~x") are skipped.
  for (const stream of sdpTransform.parseSimulcastStreamList(list)) {
    const first = stream.find((format) => !format.paused);
    if (!first) continue;
    const id = String(first.scid);
    if (!/^[A-Za-z0-9_-]{1,16}$/.test(id)) throw invalid(`${where} has a simulcast rid "${id}" that is not 1–16 letters, digits, - or _`);
    if (!declared.has(id)) throw invalid(`${where} lists rid "${id}" in a=simulcast without an a=rid:${id} send line`);
    if (rids.some((r) => r.id === id)) throw invalid(`${where} lists rid "${id}" twice`);
    rids.push({ id, restrictions: restrictionsOf(declared.get(id)!) });
  }
  if (rids.length > OFFER_LIMITS.maxSimulcastLayers) throw unsupported(`${where} offers ${rids.length} simulcast layers; at most ${OFFER_LIMITS.maxSimulcastLayers} are taken`);
  return rids;
}

/** `pt=96;max-width=1280;max-height=720` → { 'max-width': '1280', … } (payload-type lists are not restrictions). */
function restrictionsOf(params: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of params.split(';')) {
    const [key, value] = part.split('=').map((x) => x.trim());
    if (key && value && key !== 'pt') out[key] = value;
  }
  return out;
}

function dtlsOf(sdp: SessionDescription, media: MediaDescription[]): ParsedOffer['dtls'] {
  const first = media.find((m) => m.fingerprint || m.setup) ?? media[0]!;
  const fingerprint = first.fingerprint ?? sdp.fingerprint;
  const setup = first.setup ?? sdp.setup;
  if (!fingerprint?.type || !fingerprint.hash) throw invalid('the offer has no a=fingerprint: DTLS needs it');
  if (!/^[A-Fa-f0-9:]{16,200}$/.test(fingerprint.hash) || fingerprint.type.length > 16) throw invalid('the a=fingerprint is not a hash');
  const roles: Record<string, ParsedOffer['dtls']['role']> = { actpass: 'auto', active: 'client', passive: 'server' };
  const role = roles[setup ?? 'actpass'];
  if (!role) throw invalid(`a=setup:${setup} is not actpass, active or passive`);
  return { role, fingerprints: [{ algorithm: fingerprint.type.toLowerCase(), value: fingerprint.hash.toUpperCase() }] };
}

function iceOf(sdp: SessionDescription, media: MediaDescription[]): ParsedOffer['ice'] {
  const first = media[0]!;
  const usernameFragment = String(first.iceUfrag ?? sdp.iceUfrag ?? '');
  const password = String(first.icePwd ?? sdp.icePwd ?? '');
  if (!usernameFragment || !password) throw invalid('the offer has no a=ice-ufrag / a=ice-pwd');
  return { usernameFragment, password };
}
