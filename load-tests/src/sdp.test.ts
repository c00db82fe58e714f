import { describe, expect, it } from 'vitest';
import { buildRecvOfferSdp, dtlsParametersFromSdp, viewerRtpCapabilities } from './sdp.ts';
import { parsePrometheus } from './probes.ts';
import { mergeChatResults, type ChatGroupResult } from './chatter.ts';
import { BitSet, LatencyHistogram } from './stats.ts';

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

  it('announces VP8 and Opus with MID only, no feedback: the SFU runs no bandwidth estimation for load viewers', () => {
    const caps = viewerRtpCapabilities({
      codecs: [
        { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2, preferredPayloadType: 100, rtcpFeedback: [{ type: 'transport-cc' }] },
        { kind: 'video', mimeType: 'video/VP8', clockRate: 90000, preferredPayloadType: 101, rtcpFeedback: [{ type: 'nack' }] },
        { kind: 'video', mimeType: 'video/rtx', clockRate: 90000, preferredPayloadType: 102, parameters: { apt: 101 } },
      ],
      headerExtensions: [
        { kind: 'video', uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', preferredId: 1 },
        { kind: 'video', uri: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01', preferredId: 5 },
      ],
    }) as { codecs: { mimeType: string; rtcpFeedback: unknown[] }[]; headerExtensions: { uri: string }[] };
    expect(caps.codecs.map((c) => c.mimeType)).toEqual(['audio/opus', 'video/VP8']);
    expect(caps.codecs.every((c) => c.rtcpFeedback.length === 0)).toBe(true);
    expect(caps.headerExtensions.map((h) => h.uri)).toEqual(['urn:ietf:params:rtp-hdrext:sdes:mid']);
  });
});

describe('Prometheus text', () => {
  it('parses names, labels and values', () => {
    const s = parsePrometheus('# HELP x y\nredred_viewers 12\nredred_worker_consumers{worker="0",pid="42"} 7\n');
    expect(s).toEqual([
      { name: 'redred_viewers', labels: {}, value: 12 },
      { name: 'redred_worker_consumers', labels: { worker: '0', pid: '42' }, value: 7 },
    ]);
  });
});

describe('chat accounting', () => {
  it('expects every acked message at every receiver that stayed, across processes', () => {
    const group = (seqs: number[], acked: number[], receivers: number[][]): ChatGroupResult => {
      const a = new BitSet();
      acked.forEach((x) => a.add(x));
      return {
        sockets: receivers.length, connectFailed: 0, dropped: 0, dropReasons: {}, sent: seqs.length, acked: acked.length, rejected: {}, unanswered: seqs.length - acked.length, unsendable: 0, skipped: 0,
        ackedSeqs: a.bytes, ack: new LatencyHistogram().toJSON(), delivery: new LatencyHistogram().toJSON(), toServer: new LatencyHistogram().toJSON(), fromServer: new LatencyHistogram().toJSON(), duplicates: 0, maxSendLagMs: 0,
        receivers: receivers.map((r) => { const b = new BitSet(); r.forEach((x) => b.add(x)); return b.bytes; }),
      };
    };
    // Process 0 sends even seqs, process 1 odd ones; seq 3 was never acked but still arrived once.
    const t = mergeChatResults([group([0, 2], [0, 2], [[0, 1, 2], [0, 1, 2, 3]]), group([1, 3], [1], [[0, 1]])]);
    expect(t.acked).toBe(3);
    expect(t.receivers).toBe(3);
    expect(t.expectedDeliveries).toBe(9);
    expect(t.delivered).toBe(8);
    expect(t.lost).toBe(1);
    expect(t.deliveredUnacked).toBe(1);
  });
});
