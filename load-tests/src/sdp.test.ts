import { describe, expect, it } from 'vitest';
import { buildRecvOfferSdp, dtlsParametersFromSdp, viewerRtpCapabilities } from './sdp.ts';

const transport = {
  id: 't1',
  iceParameters: { usernameFragment: 'uf', password: 'pw', iceLite: true },
  iceCandidates: [
    { foundation: 'udpcandidate', priority: 1076302079, ip: '127.0.0.1', protocol: 'udp' as const, port: 40001, type: 'host' },
    { foundation: 'tcpcandidate', priority: 1076276479, ip: '127.0.0.1', protocol: 'tcp' as const, port: 40002, type: 'host', tcpType: 'passive' },
  ],
  dtlsParameters: { role: 'auto', fingerprints: [{ algorithm: 'sha-256', value: 'ab:cd' }] },
};

describe('receive SDP', () => {
  it('bundles one sendonly m-section per consumer with its MID, SSRC and the UDP candidates only', () => {
    const sdp = buildRecvOfferSdp(transport, [
      { id: 'v', kind: 'video', rtpParameters: { mid: '0', codecs: [{ mimeType: 'video/VP8', payloadType: 101, clockRate: 90000 }], headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 1 }], encodings: [{ ssrc: 1111 }], rtcp: { cname: 'c' } } },
      { id: 'a', kind: 'audio', rtpParameters: { mid: '1', codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 } }], encodings: [{ ssrc: 2222 }] } },
    ]);
    expect(sdp).toContain('a=ice-lite');
    expect(sdp).toContain('a=group:BUNDLE 0 1');
    expect(sdp).toContain('m=video 7 UDP/TLS/RTP/SAVPF 101');
    expect(sdp).toContain('a=rtpmap:100 opus/48000/2');
    expect(sdp).toContain('a=fmtp:100 useinbandfec=1');
    expect(sdp).toContain('a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid');
    expect(sdp).toContain('a=ssrc:1111 cname:c');
    expect(sdp).toContain('a=candidate:udpcandidate 1 udp 1076302079 127.0.0.1 40001 typ host');
    expect(sdp).not.toContain('tcpcandidate');
    expect(sdp).toContain('a=fingerprint:sha-256 AB:CD');
  });

  it('reads our DTLS role and fingerprint from the answer', () => {
    expect(dtlsParametersFromSdp('v=0\r\na=fingerprint:SHA-256 AA:BB\r\na=setup:active\r\n')).toEqual({ role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'AA:BB' }] });
  });

  it('announces VP8 and Opus with MID and video abs-send-time and abs-capture-time only, no feedback: the SFU runs no bandwidth estimation for load viewers', () => {
    const caps = viewerRtpCapabilities({
      codecs: [
        { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2, preferredPayloadType: 100, rtcpFeedback: [{ type: 'transport-cc' }] },
        { kind: 'video', mimeType: 'video/VP8', clockRate: 90000, preferredPayloadType: 101, rtcpFeedback: [{ type: 'nack' }] },
        { kind: 'video', mimeType: 'video/rtx', clockRate: 90000, preferredPayloadType: 102, parameters: { apt: 101 } },
      ],
      headerExtensions: [
        { kind: 'video', uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', preferredId: 1 },
        { kind: 'video', uri: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01', preferredId: 5 },
        { kind: 'audio', uri: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time', preferredId: 4 },
        { kind: 'video', uri: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time', preferredId: 4 },
        { kind: 'audio', uri: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time', preferredId: 13 },
        { kind: 'video', uri: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time', preferredId: 13 },
      ],
    }) as { codecs: { mimeType: string; rtcpFeedback: unknown[] }[]; headerExtensions: { kind: string; uri: string }[] };
    expect(caps.codecs.map((c) => c.mimeType)).toEqual(['audio/opus', 'video/VP8']);
    expect(caps.codecs.every((c) => c.rtcpFeedback.length === 0)).toBe(true);
    expect(caps.headerExtensions.map((h) => `${h.kind} ${h.uri}`)).toEqual([
      'video urn:ietf:params:rtp-hdrext:sdes:mid',
      'video http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
      'video http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time',
    ]);
  });

  it('with feedback, asks for NACK, PLI and transport-cc on video (and its header extension), like a browser', () => {
    const caps = viewerRtpCapabilities(
      {
        codecs: [
          { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2, preferredPayloadType: 100 },
          { kind: 'video', mimeType: 'video/VP8', clockRate: 90000, preferredPayloadType: 101 },
        ],
        headerExtensions: [
          { kind: 'video', uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', preferredId: 1 },
          { kind: 'audio', uri: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01', preferredId: 5 },
          { kind: 'video', uri: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01', preferredId: 5 },
        ],
      },
      { feedback: true },
    ) as { codecs: { kind: string; rtcpFeedback: unknown[] }[]; headerExtensions: { kind: string; uri: string }[] };
    expect(caps.codecs.find((c) => c.kind === 'video')!.rtcpFeedback).toEqual([{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'transport-cc' }]);
    expect(caps.codecs.find((c) => c.kind === 'audio')!.rtcpFeedback).toEqual([]);
    expect(caps.headerExtensions.map((h) => `${h.kind} ${h.uri.split('/').pop()}`)).toEqual(['video urn:ietf:params:rtp-hdrext:sdes:mid', 'video draft-holmer-rmcat-transport-wide-cc-extensions-01']);
  });
});
