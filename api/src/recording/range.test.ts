import { describe, expect, it } from 'vitest';
import { parseRange } from './range.ts';
import { containerFor, recorderSdp } from './sdp.ts';

describe('parseRange (RFC 9110 §14.1.2, one range)', () => {
  it('reads open, closed and suffix ranges, clamping the end to the file', () => {
    expect(parseRange('bytes=0-', 100)).toEqual({ start: 0, end: 99 });
    expect(parseRange('bytes=10-19', 100)).toEqual({ start: 10, end: 19 });
    expect(parseRange('bytes=90-500', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-500', 100)).toEqual({ start: 0, end: 99 });
    expect(parseRange(' bytes=5-5 ', 100)).toEqual({ start: 5, end: 5 });
  });

  it('is unsatisfiable past the end, backwards, for an empty suffix or an empty file', () => {
    for (const h of ['bytes=100-', 'bytes=100-200', 'bytes=20-10', 'bytes=-0', 'bytes=99999999999999999999-']) {
      expect({ h, r: parseRange(h, 100) }).toEqual({ h, r: 'unsatisfiable' });
    }
    expect(parseRange('bytes=0-', 0)).toBe('unsatisfiable');
  });

  it('ignores what it does not serve: no header, other units, several ranges, garbage (the whole file, 200)', () => {
    for (const h of [undefined, '', 'items=0-1', 'bytes=0-1,5-6', 'bytes=-', 'bytes=a-b', 'bytes=1-2-3']) {
      expect({ h, r: parseRange(h, 100) }).toEqual({ h, r: undefined });
    }
  });
});

describe('recorderSdp', () => {
  const vp8 = { kind: 'video' as const, producerId: 'v', rtpPort: 5000, rtpParameters: { codecs: [{ mimeType: 'video/VP8', payloadType: 101, clockRate: 90000, parameters: {} }], encodings: [{ ssrc: 1 }] } };
  const opus = { kind: 'audio' as const, producerId: 'a', rtpPort: 5002, rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 } }], encodings: [{ ssrc: 2 }] } };
  const h264 = { ...vp8, rtpParameters: { codecs: [{ mimeType: 'video/H264', payloadType: 107, clockRate: 90000, parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f' } }], encodings: [{ ssrc: 3 }] } };

  it('describes each track on its port, RTCP on the next, with payload type, clock rate, channels and fmtp', () => {
    const sdp = recorderSdp([vp8, opus]);
    expect(sdp.split('\r\n')).toEqual([
      'v=0',
      'o=- 0 0 IN IP4 127.0.0.1',
      's=redred recorder',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      'm=video 5000 RTP/AVP 101',
      'a=rtcp:5001',
      'a=rtpmap:101 VP8/90000',
      'a=recvonly',
      'm=audio 5002 RTP/AVP 100',
      'a=rtcp:5003',
      'a=rtpmap:100 opus/48000/2',
      'a=fmtp:100 useinbandfec=1',
      'a=recvonly',
      '',
    ]);
    expect(recorderSdp([h264])).toContain('a=fmtp:107 packetization-mode=1;profile-level-id=42e01f\r\n');
  });

  it('picks WebM for VP8 and MP4 for H.264', () => {
    expect(containerFor([vp8, opus])).toBe('webm');
    expect(containerFor([h264, opus])).toBe('mp4');
  });
});
