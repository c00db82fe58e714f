import { describe, expect, it } from 'vitest';
import { RtpMeter, SeqTracker, lossBetween } from './rtp-meter.ts';
import { parseVp8Payload } from './vp8.ts';

function rtp(pt: number, seq: number, marker = false): Uint8Array {
  const p = new Uint8Array(40);
  p[0] = 0x80;
  p[1] = (marker ? 0x80 : 0) | pt;
  p[2] = seq >> 8;
  p[3] = seq & 0xff;
  return p;
}

describe('SeqTracker', () => {
  it('counts loss across the 16-bit wrap and ignores late packets for order', () => {
    const t = new SeqTracker();
    for (const seq of [65533, 65534, 65535, 0, 2, 3]) t.record(seq, 100);
    expect(t.expected).toBe(7);
    expect(t.received).toBe(6);
    expect(t.record(1, 100)).toBe('late');
  });
});

describe('RtpMeter', () => {
  it('counts complete frames by marker bit and breaks a frame on a gap', () => {
    const m = new RtpMeter({ video: 101, audio: 100 });
    m.onPacket(rtp(101, 10), 1000);
    m.onPacket(rtp(101, 11, true), 1001); // frame 1 complete
    m.onPacket(rtp(101, 13, true), 1040); // 12 lost: frame 2 broken
    m.onPacket(rtp(101, 14, true), 1080); // frame 3 complete
    m.onPacket(rtp(100, 500), 1081);
    m.onPacket(new Uint8Array([0x80, 200, 0, 1]), 1082); // RTCP SR
    expect(m.completeFrames).toBe(2);
    expect(m.brokenFrames).toBe(1);
    expect(m.firstFrameAt).toBe(1001);
    expect(m.maxFrameGapMs).toBe(79);
    expect(m.rtcpPackets).toBe(1);
    expect(m.expected).toBe(6);
    expect(m.packets).toBe(5);
    expect(lossBetween({ at: 0, packets: 0, bytes: 0, expected: 0, videoFrames: 0 }, m.snapshot(2000))).toBeCloseTo(1 / 6);
  });
});

describe('VP8 payload', () => {
  it('finds a keyframe and its size behind an extended descriptor', () => {
    // X=1 S=1 PID=0 | I=1 | 15-bit picture id | VP8 keyframe header: P=0, start code, 1280x720
    const p = Uint8Array.from([0x90, 0x80, 0x81, 0x23, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x00, 0x05, 0xd0, 0x02]);
    expect(parseVp8Payload(p)).toEqual({ frameStart: true, keyframe: true, width: 1280, height: 720, valid: true });
    const delta = Uint8Array.from([0x10, 0x01, 0x00, 0x00]);
    expect(parseVp8Payload(delta)).toMatchObject({ frameStart: true, keyframe: false, valid: true });
    const bad = Uint8Array.from([0x10, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    expect(parseVp8Payload(bad).valid).toBe(false);
  });
});
