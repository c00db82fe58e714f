import { describe, expect, it } from 'vitest';
import { CaptureDelayMeter, absCaptureTimeMs, findHeaderExtension, forwardingDelay, sfuToArrivalMs, summarizeCaptureDelay } from './capture-delay.ts';
import { RtpMeter } from './rtp-meter.ts';

// Real packets, captured on lo (tcpdump) during a load run: headers and the
// first 8 bytes of SRTP payload, with the arrival time tcpdump stamped (epoch ms).
// mediasoup 3.12.16 → a viewer, one-byte header extensions (0xBEDE): 1 = MID,
// 4 = abs-send-time, 5 = transport-wide seq, 13 = abs-capture-time (16 bytes).
const SFU_TO_VIEWER: [number, string][] = [
  [1795983108633.085, '9060003a0bf2c35b1819569abede00041030000000000000004292449c510000f87f35772e6e96a9'],
  [1795983108634.315, '90e0003b0bf2c35b1819569abede0004103000000000000000429245a251000044f91fd93e94241f'],
  [1795983108657.097, '9060003c0bf2cd8d1819569abede0009103000000000000000dfeeb70584a6666800000000000000000042925d2f510000000000663dc60902808e2f'],
  [1795983108657.953, '9060003d0bf2cd8d1819569abede000410300000000000000042925e35510000d1ddd3a90f34d209'],
  [1795983108658.128, '90e0003e0bf2cd8d1819569abede000410300000000000000042925e3551000071bd1b402b80ad3f'],
  [1795983108687.859, '9060003f0bf2d8191819569abede000410300000000000000042927cee51000006d981fb888158a6'],
  [1795983108687.885, '906000400bf2d8191819569abede000410300000000000000042927cee510000fb176635d01d85be'],
  [1795983108687.902, '90e000410bf2d8191819569abede000410300000000000000042927cee510000f84dfc93c2d214e6'],
  [1795983108721.577, '906000420bf2e3b31819569abede000410300000000000000042929eb8510000581f1ec1e0d45660'],
  [1795983108760.766, '906000450bf2efa71819569abede00041030000000000000004292c6a851000002e75527177c8544'],
];
// Chrome → the SFU: the munged abs-capture-time id is 15, which the one-byte form
// reserves, so Chrome sends these packets with two-byte extensions (0x1000).
const CHROME_TWO_BYTE = '90606a370be1f43b1ea4e70f100000090203e1c93d030200070401310a0272320f10eeb7057861893800000000000000000000002040552a4aff0e0a';

const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));
/** The frames of SFU_TO_VIEWER: capture of the stamped one (ts 200461709) is …650.000 ms; frames are 2700, 5670 and 8730 ticks later. */
const STAMPED_CAPTURE_MS = 1795983108650;

describe('findHeaderExtension / absCaptureTimeMs', () => {
  it('reads abs-capture-time from a one-byte extension block as mediasoup forwards it', () => {
    const p = bytes(SFU_TO_VIEWER[2]![1]);
    const ext = findHeaderExtension(p, 13)!;
    expect(ext.length).toBe(16);
    expect(absCaptureTimeMs(p, ext.offset, ext.length)).toBeCloseTo(STAMPED_CAPTURE_MS, 3);
    expect(findHeaderExtension(p, 1)).toEqual({ offset: 17, length: 1 }); // MID "0"
    expect(p[17]).toBe(0x30);
    expect(findHeaderExtension(p, 5)!.length).toBe(2);
  });

  it('reads it from a two-byte extension block as Chrome sends it under id 15', () => {
    const p = bytes(CHROME_TWO_BYTE);
    const ext = findHeaderExtension(p, 15)!;
    expect(ext.length).toBe(16);
    expect(absCaptureTimeMs(p, ext.offset, ext.length)).toBeCloseTo(1795983096381, 3);
    const rid = findHeaderExtension(p, 10)!;
    expect(Buffer.from(p.subarray(rid.offset, rid.offset + rid.length)).toString()).toBe('r2');
  });

  it('finds nothing where the extension is absent, the X bit is clear or the block is cut short', () => {
    expect(findHeaderExtension(bytes(SFU_TO_VIEWER[0]![1]), 13)).toBeNull();
    const noX = bytes(SFU_TO_VIEWER[2]![1]);
    noX[0] = noX[0]! & ~0x10;
    expect(findHeaderExtension(noX, 13)).toBeNull();
    expect(findHeaderExtension(bytes(SFU_TO_VIEWER[2]![1]).subarray(0, 40), 13)).toBeNull();
  });

  it('adds the estimated capture clock offset when there is one, and refuses other lengths', () => {
    const p = bytes(SFU_TO_VIEWER[2]![1]);
    const ext = findHeaderExtension(p, 13)!;
    p[ext.offset + 11] = 1; // offset +1 s (Q32.32)
    p[ext.offset + 12] = 0x80; // +0.5 s
    expect(absCaptureTimeMs(p, ext.offset, 16)).toBeCloseTo(STAMPED_CAPTURE_MS + 1500, 3);
    expect(absCaptureTimeMs(p, ext.offset, 8)).toBeCloseTo(STAMPED_CAPTURE_MS, 3);
    expect(absCaptureTimeMs(p, ext.offset, 4)).toBeNull();
  });
});

describe('CaptureDelayMeter', () => {
  const feed = (m: CaptureDelayMeter, packets: [number, string][]) => {
    for (const [at, hex] of packets) m.onPacket(bytes(hex), at);
  };

  it('places each frame on the capture clock from the last stamp and the RTP clock, measuring its first packet', () => {
    const m = new CaptureDelayMeter(13);
    feed(m, SFU_TO_VIEWER);
    const r = m.result();
    expect(r.stamps).toBe(1);
    expect(r.unplaced).toBe(1); // the frame before the first stamp
    expect(r.negative).toBe(0);
    expect(r.histogram.total).toBe(4);
    // First packets: 657.097 − 650; 687.859 − (650 + 2700/90); 721.577 − (650 + 5670/90); 760.766 − (650 + 8730/90).
    expect(r.histogram.sum).toBeCloseTo(7.097 + 7.859 + 8.577 + 13.766, 3); // epoch ms in a double: ~0.2 µs resolution
    expect(r.histogram.max).toBeCloseTo(13.766, 3); // epoch ms in a double: ~0.2 µs resolution
  });

  it('measures only inside the window: mark() drops what came before, finish() stops', () => {
    const m = new CaptureDelayMeter(13);
    feed(m, SFU_TO_VIEWER.slice(0, 6));
    m.mark();
    feed(m, SFU_TO_VIEWER.slice(6, 9)); // one new frame (ts …e3b3)
    m.finish();
    feed(m, SFU_TO_VIEWER.slice(9));
    const r = m.result();
    expect(r.histogram.total).toBe(1);
    expect(r.histogram.sum).toBeCloseTo(8.577, 3); // epoch ms in a double: ~0.2 µs resolution
    expect(r.unplaced).toBe(0);
  });

  it('does not take a late packet of an earlier frame for a frame start', () => {
    const m = new CaptureDelayMeter(13);
    feed(m, [SFU_TO_VIEWER[2]!, SFU_TO_VIEWER[5]!, [1795983108700, SFU_TO_VIEWER[4]![1]]]);
    expect(m.result().histogram.total).toBe(2);
  });

  it('counts a frame that seems to arrive before its capture instead of recording it', () => {
    const m = new CaptureDelayMeter(13);
    m.onPacket(bytes(SFU_TO_VIEWER[2]![1]), STAMPED_CAPTURE_MS - 5);
    expect(m.result().negative).toBe(1);
    expect(m.result().histogram.total).toBe(0);
  });

  it('follows the RTP timestamp across its 32-bit wrap', () => {
    const m = new CaptureDelayMeter(13);
    const stamped = bytes(SFU_TO_VIEWER[2]![1]);
    new DataView(stamped.buffer).setUint32(4, 0xffff_fa00); // 1536 ticks before the wrap
    const next = bytes(SFU_TO_VIEWER[5]![1]);
    new DataView(next.buffer).setUint32(4, 0x0000_0294); // 660 ticks after it: 2196 ticks = 24.4 ms later
    m.onPacket(stamped, STAMPED_CAPTURE_MS + 7);
    m.onPacket(next, STAMPED_CAPTURE_MS + 24.4 + 9);
    const r = m.result();
    expect(r.histogram.total).toBe(2);
    expect(r.histogram.sum).toBeCloseTo(16, 3); // epoch ms in a double: ~0.2 µs resolution
  });
});

describe('the split at mediasoup\'s send time (abs-send-time, id 4)', () => {
  // mediasoup stamped the stamped frame's first packet 0x925d2f (6.18 fixed-point s, mod 64 s) on its
  // CLOCK_MONOTONIC; this clock puts its arrival 0.25 ms later.
  const clock = { monotonicMinusEpochMs: 0x925d2f / 262.144 + 0.25 - SFU_TO_VIEWER[2]![0] };

  it('reads the send time and gives SFU send → arrival across the 64 s wrap', () => {
    const p = bytes(SFU_TO_VIEWER[2]![1]);
    const arrival = SFU_TO_VIEWER[2]![0] + clock.monotonicMinusEpochMs;
    expect(sfuToArrivalMs(p, 4, arrival)).toBeCloseTo(0.25, 2);
    expect(sfuToArrivalMs(p, 4, arrival + 64_000 * 3)).toBeCloseTo(0.25, 2);
    expect(sfuToArrivalMs(p, 4, arrival - 10)).toBeNull(); // sent after it arrived: not one clock
    expect(sfuToArrivalMs(p, 13, arrival)).toBeNull(); // not a 3-byte extension
  });

  it('splits each measured frame into capture → SFU send and SFU send → viewer', () => {
    const m = new CaptureDelayMeter(13, 4, clock);
    for (const [at, hex] of SFU_TO_VIEWER) m.onPacket(bytes(hex), at);
    const r = m.result();
    expect(r.sfuToViewer.total).toBe(4);
    // 0.25, then the SFU's later stamps against the arrivals (whole-ms stamps): 0.011, 0.732, 0.919.
    expect(r.sfuToViewer.sum).toBeCloseTo(1.915, 2);
    expect(r.toSfuSend.sum).toBeCloseTo(r.histogram.sum - 1.915, 2);
  });
});

describe('RtpMeter capture-delay hook', () => {
  it('feeds every video packet to the capture-delay meter when the consumer negotiated the extension', () => {
    const meter = new RtpMeter({ video: 96, audio: 111 }, { absCaptureTime: 13, absSendTime: 4 });
    for (const [at, hex] of SFU_TO_VIEWER) meter.onPacket(bytes(hex), at);
    expect(meter.captureDelay!.result().histogram.total).toBe(4);
    expect(new RtpMeter({ video: 96, audio: 111 }).captureDelay).toBeNull();
  });
});

describe('summaries', () => {
  it('merges viewers into one distribution and subtracts the 1-viewer baseline', () => {
    const one = new CaptureDelayMeter(13);
    for (const [at, hex] of SFU_TO_VIEWER) one.onPacket(bytes(hex), at);
    const late = new CaptureDelayMeter(13);
    for (const [at, hex] of SFU_TO_VIEWER) late.onPacket(bytes(hex), at + 10);
    const atOne = summarizeCaptureDelay([one.result()])!;
    const atN = summarizeCaptureDelay([one.result(), late.result(), null])!;
    expect(atN.viewers).toBe(2);
    expect(atN.frames).toBe(8);
    expect(atN.stamps).toBe(2);
    expect(atN.p99).toBeCloseTo(23.766, 0);
    expect(forwardingDelay(atOne, atN)!.p99).toBeCloseTo(10, 0);
    expect(summarizeCaptureDelay([null])).toBeNull();
    expect(forwardingDelay(null, atN)).toBeNull();
  });
});
