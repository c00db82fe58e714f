import { randomBytes } from 'node:crypto';
import * as sdpTransform from 'sdp-transform';
import type { MediaAttributes, MediaDescription, SessionDescription } from 'sdp-transform';
import type { TransportOffer } from '@redred/sfu';
import type { AnsweredMedia } from './negotiate.ts';
import type { MediaKind } from './offer.ts';

// The SDP answer, written with sdp-transform: one BUNDLE group over mediasoup's
// ICE-lite transport, every section in the offer's order with the offer's mid,
// rtcp-mux-only as RFC 9725 asks, and the media each section accepted.

export interface AnswerSection {
  mid: string;
  kind: MediaKind;
  direction: 'recvonly' | 'sendonly' | 'inactive';
  media: AnsweredMedia;
  /** What we send on a sendonly section (WHEP): the consumer's SSRCs. */
  send?: { ssrc: number; rtxSsrc?: number; cname: string; streamId: string; trackId: string };
}

export interface AnswerInput {
  transport: TransportOffer;
  /** Our DTLS role: passive (DTLS server) for an actpass or active offerer. */
  setup: 'active' | 'passive';
  sections: AnswerSection[];
  extmapAllowMixed: boolean;
}

export function writeAnswer(input: AnswerInput): string {
  const { transport } = input;
  // mediasoup lists several hash algorithms; sha-256 is the one every client checks.
  const fingerprint = transport.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256') ?? transport.dtlsParameters.fingerprints[0]!;
  const mids = input.sections.map((s) => s.mid);
  const session: SessionDescription = {
    version: 0,
    origin: { username: '-', sessionId: BigInt(`0x${randomBytes(7).toString('hex')}`).toString(), sessionVersion: 1, netType: 'IN', ipVer: 4, address: '0.0.0.0' },
    name: '-',
    timing: { start: 0, stop: 0 },
    icelite: 'ice-lite',
    groups: [{ type: 'BUNDLE', mids: mids.join(' ') }],
    msidSemantic: { semantic: 'WMS', token: '*' },
    media: input.sections.map((section) => mediaSection(section, input, fingerprint)),
  };
  if (input.extmapAllowMixed) session.extmapAllowMixed = 'extmap-allow-mixed';
  return sdpTransform.write(session);
}

function mediaSection(section: AnswerSection, input: AnswerInput, fingerprint: { algorithm: string; value: string }): MediaDescription {
  const { transport } = input;
  const { media } = section;
  const m: MediaDescription = {
    type: section.kind,
    port: 9,
    protocol: 'UDP/TLS/RTP/SAVPF',
    payloads: media.codecs.map((c) => c.payloadType).join(' '),
    connection: { version: 4, ip: '0.0.0.0' },
    mid: section.mid,
    direction: section.direction,
    iceUfrag: transport.iceParameters.usernameFragment,
    icePwd: transport.iceParameters.password,
    fingerprint: { type: fingerprint.algorithm, hash: fingerprint.value },
    setup: input.setup,
    rtcpMux: 'rtcp-mux',
    rtcpRsize: 'rtcp-rsize',
    rtp: media.codecs.map((c) => ({ payload: c.payloadType, codec: c.mimeType.split('/')[1]!, rate: c.clockRate, ...(c.channels && c.channels > 1 ? { encoding: c.channels } : {}) })),
    fmtp: media.codecs
      .filter((c) => Object.keys(c.parameters).length > 0)
      .map((c) => ({ payload: c.payloadType, config: Object.entries(c.parameters).map(([k, v]) => `${k}=${String(v)}`).join(';') })),
    rtcpFb: media.codecs.flatMap((c) => c.rtcpFeedback.map((fb) => ({ payload: c.payloadType, type: fb.type, ...(fb.parameter ? { subtype: fb.parameter } : {}) }))),
    ext: media.headerExtensions.map((e) => ({ value: e.id, uri: e.uri })),
    candidates: transport.iceCandidates.map((c) => {
      const candidate: MediaAttributes['candidates'] extends (infer C)[] | undefined ? C : never = {
        foundation: c.foundation,
        component: 1,
        transport: c.protocol,
        priority: c.priority,
        // mediasoup 3.8 names it `ip`, 3.10+ `address`.
        ip: (c as { address?: string }).address ?? c.ip,
        port: c.port,
        type: c.type,
      };
      if (c.tcpType) candidate.tcptype = c.tcpType;
      return candidate;
    }),
    endOfCandidates: 'end-of-candidates',
  };
  // rtcp-mux-only (RFC 8858) has no field in sdp-transform: an invalid line is written as given.
  m.invalid = [{ value: 'rtcp-mux-only' }];
  if (media.rids.length > 0) {
    m.rids = media.rids.map((id) => ({ id, direction: 'recv' }));
    if (media.rids.length > 1) m.simulcast = { dir1: 'recv', list1: media.rids.join(';') };
  }
  if (section.send) {
    const { ssrc, rtxSsrc, cname, streamId, trackId } = section.send;
    m.msid = [{ id: streamId, appdata: trackId }];
    m.ssrcs = [{ id: ssrc, attribute: 'cname', value: cname }, { id: ssrc, attribute: 'msid', value: `${streamId} ${trackId}` }];
    if (rtxSsrc) {
      m.ssrcs.push({ id: rtxSsrc, attribute: 'cname', value: cname }, { id: rtxSsrc, attribute: 'msid', value: `${streamId} ${trackId}` });
      m.ssrcGroups = [{ semantics: 'FID', ssrcs: `${ssrc} ${rtxSsrc}` }];
    }
  }
  return m;
}
