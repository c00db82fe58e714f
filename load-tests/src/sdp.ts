// The receive-side SDP a viewer's WebRTC stack needs, built from the SFU's
// transport and consumer parameters the way mediasoup-client's RemoteSdp does:
// the SFU plays the offerer (ICE-lite, DTLS actpass), one m-section per
// consumer, all bundled on the one transport.

export interface IceCandidateParams {
  foundation: string;
  priority: number;
  ip?: string;
  address?: string;
  protocol: 'udp' | 'tcp';
  port: number;
  type: string;
  tcpType?: string;
}

export interface TransportParams {
  id: string;
  iceParameters: { usernameFragment: string; password: string; iceLite?: boolean };
  iceCandidates: IceCandidateParams[];
  dtlsParameters: { role?: string; fingerprints: { algorithm: string; value: string }[] };
}

export interface CodecParams {
  mimeType: string;
  payloadType: number;
  clockRate: number;
  channels?: number;
  parameters?: Record<string, unknown>;
  rtcpFeedback?: { type: string; parameter?: string }[];
}

export interface ConsumerRtpParams {
  mid?: string;
  codecs: CodecParams[];
  headerExtensions?: { uri: string; id: number }[];
  encodings?: { ssrc?: number; rtx?: { ssrc: number } }[];
  rtcp?: { cname?: string; reducedSize?: boolean };
}

export interface ConsumerParams {
  id: string;
  kind: 'audio' | 'video';
  rtpParameters: ConsumerRtpParams;
}

export function buildRecvOfferSdp(transport: TransportParams, consumers: readonly ConsumerParams[]): string {
  const mids = consumers.map((c, i) => c.rtpParameters.mid ?? String(i));
  const lines: string[] = [
    'v=0',
    `o=- ${Date.now()} 2 IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    ...(transport.iceParameters.iceLite !== false ? ['a=ice-lite'] : []),
    `a=group:BUNDLE ${mids.join(' ')}`,
    'a=msid-semantic: WMS *',
  ];
  for (const fp of transport.dtlsParameters.fingerprints) lines.push(`a=fingerprint:${fp.algorithm} ${fp.value.toUpperCase()}`);
  consumers.forEach((consumer, i) => {
    const rtp = consumer.rtpParameters;
    const codecs = rtp.codecs;
    lines.push(`m=${consumer.kind} 7 UDP/TLS/RTP/SAVPF ${codecs.map((c) => c.payloadType).join(' ')}`);
    lines.push('c=IN IP4 127.0.0.1');
    lines.push(`a=mid:${mids[i]}`);
    lines.push('a=sendonly');
    lines.push(`a=ice-ufrag:${transport.iceParameters.usernameFragment}`);
    lines.push(`a=ice-pwd:${transport.iceParameters.password}`);
    lines.push('a=setup:actpass');
    for (const cand of transport.iceCandidates) {
      if (cand.protocol !== 'udp') continue;
      lines.push(`a=candidate:${cand.foundation} 1 udp ${cand.priority} ${cand.ip ?? cand.address} ${cand.port} typ ${cand.type}`);
    }
    lines.push('a=end-of-candidates');
    lines.push('a=rtcp-mux');
    if (rtp.rtcp?.reducedSize !== false) lines.push('a=rtcp-rsize');
    for (const codec of codecs) {
      const name = codec.mimeType.split('/')[1];
      const channels = consumer.kind === 'audio' && codec.channels && codec.channels > 1 ? `/${codec.channels}` : '';
      lines.push(`a=rtpmap:${codec.payloadType} ${name}/${codec.clockRate}${channels}`);
      const fmtp = Object.entries(codec.parameters ?? {}).map(([k, v]) => `${k}=${String(v)}`);
      if (fmtp.length > 0) lines.push(`a=fmtp:${codec.payloadType} ${fmtp.join(';')}`);
      for (const fb of codec.rtcpFeedback ?? []) lines.push(`a=rtcp-fb:${codec.payloadType} ${fb.type}${fb.parameter ? ` ${fb.parameter}` : ''}`);
    }
    for (const ext of rtp.headerExtensions ?? []) lines.push(`a=extmap:${ext.id} ${ext.uri}`);
    const cname = rtp.rtcp?.cname ?? 'sfu';
    for (const enc of rtp.encodings ?? []) {
      if (enc.ssrc === undefined) continue;
      lines.push(`a=ssrc:${enc.ssrc} cname:${cname}`);
      lines.push(`a=ssrc:${enc.ssrc} msid:sfu ${consumer.id}`);
    }
  });
  return lines.join('\r\n') + '\r\n';
}

/** DTLS parameters of our side, from our SDP answer. */
export function dtlsParametersFromSdp(sdp: string): { role: 'client' | 'server'; fingerprints: { algorithm: string; value: string }[] } {
  const fingerprints = [...sdp.matchAll(/^a=fingerprint:(\S+) (\S+)\r?$/gm)].map((m) => ({ algorithm: m[1]!.toLowerCase(), value: m[2]! }));
  if (fingerprints.length === 0) throw new Error('the local SDP has no DTLS fingerprint');
  const setup = /^a=setup:(\S+)\r?$/m.exec(sdp)?.[1];
  // Answering an actpass offer, "active" makes us the DTLS client.
  return { role: setup === 'passive' ? 'server' : 'client', fingerprints };
}

interface RouterCodec {
  kind: 'audio' | 'video';
  mimeType: string;
  clockRate: number;
  channels?: number;
  preferredPayloadType?: number;
  parameters?: Record<string, unknown>;
  rtcpFeedback?: unknown[];
}

interface RouterCaps {
  codecs?: RouterCodec[];
  headerExtensions?: { kind: string; uri: string; preferredId: number; direction?: string }[];
}

const MID_URI = 'urn:ietf:params:rtp-hdrext:sdes:mid';
export const ABS_CAPTURE_TIME_URI = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time';
export const ABS_SEND_TIME_URI = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time';

/** What a browser's receiver asks for, and werift's receiver sends: NACK, PLI, transport-cc feedback (werift sends no REMB). */
export const BROWSER_FEEDBACK = [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'transport-cc' }] as const;
const TRANSPORT_CC_URI = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';

/**
 * The capabilities a load-test viewer announces: VP8 and Opus, the MID header
 * extension (bundle demux), abs-capture-time and abs-send-time on video (the
 * publisher's capture clock, which the SFU forwards untouched, and the SFU's
 * send time: see capture-delay.ts), no RTX, and by default no RTCP feedback. Without
 * transport-cc or REMB the SFU runs no bandwidth estimation for the viewer and
 * forwards its preferred simulcast layer; without NACK every lost packet stays
 * lost, so the figures show raw forwarding loss. With `feedback` (the share of
 * viewers that behave like browsers) video also gets NACK, PLI and transport-cc
 * with its header extension: the SFU then handles their receiver reports, NACKs
 * (retransmitting) and transport-cc feedback (estimating their bandwidth).
 */
export function viewerRtpCapabilities(routerCaps: unknown, options: { feedback?: boolean } = {}): Record<string, unknown> {
  const caps = routerCaps as RouterCaps;
  const feedback = options.feedback ?? false;
  const codecs = (caps.codecs ?? [])
    // H.264 (packetization-mode 1) too: a stream published from OBS over WHIP carries it.
    .filter((c) => /^(video\/VP8|video\/H264|audio\/opus)$/i.test(c.mimeType))
    .map((c) => ({ ...c, rtcpFeedback: feedback && c.kind === 'video' ? BROWSER_FEEDBACK.map((f) => ({ ...f })) : [] }));
  if (!codecs.some((c) => c.kind === 'video') || !codecs.some((c) => c.kind === 'audio')) {
    throw new Error('the router offers no VP8 or no Opus codec');
  }
  // abs-send-time alone starts no bandwidth estimation in mediasoup: that needs goog-remb feedback too.
  const headerExtensions = (caps.headerExtensions ?? []).filter(
    (h) =>
      h.uri === MID_URI ||
      (h.kind === 'video' && (h.uri === ABS_CAPTURE_TIME_URI || h.uri === ABS_SEND_TIME_URI || (feedback && h.uri === TRANSPORT_CC_URI))),
  );
  return { codecs, headerExtensions };
}
