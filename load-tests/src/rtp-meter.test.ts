import { describe, expect, it } from 'vitest';
import { RtpMeter, SeqTracker, lossBetween } from './rtp-meter.ts';

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
