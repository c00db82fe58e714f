import { describe, expect, it } from 'vitest';
import type { LayerStats } from './browser/publisher.ts';
import type { UploadSample } from './streamer.ts';
import { describeLayers, encoderStateDiffers, unsteadyReasons, uploadPerEncodedByte } from './upload-window.ts';

const layer = (rid: string, over: Partial<LayerStats> = {}): LayerStats => ({
  rid,
  bytesSent: 0,
  packetsSent: 0,
  frameWidth: rid === 'r2' ? 960 : 480,
  frameHeight: rid === 'r2' ? 540 : 270,
  framesPerSecond: 15,
  framesEncoded: 0,
  keyFramesEncoded: 1,
  qualityLimitationReason: 'none',
  targetBitrate: rid === 'r2' ? 600_000 : 200_000,
  totalEncodeTime: 0,
  totalPacketSendDelay: 0,
  ...over,
});

const sample = (at: number, layers: LayerStats[], bytes: Partial<UploadSample> = {}): UploadSample => ({ at, sampledAt: at, transportBytesSent: 0, videoBytesSent: 0, audioBytesSent: 0, retransmittedBytesSent: 0, layers, ...bytes });

describe('upload windows', () => {
  const a = sample(0, [layer('r1'), layer('r2')]);

  it('takes a window where the encoder ran at one target, without keyframes or limits, as steady', () => {
    const b = sample(4000, [layer('r1', { bytesSent: 100_000, framesEncoded: 60 }), layer('r2', { bytesSent: 300_000, framesEncoded: 60, targetBitrate: 599_000 })]);
    expect(unsteadyReasons({ a, b })).toEqual([]);
    expect(describeLayers({ a, b })).toBe('r1 480x270 200 kbps (target 200) @15.0 fps, r2 960x540 600 kbps (target 599) @15.0 fps');
  });

  it('names what made a window unsteady: keyframes, a moved target, a resolution change, a limited encoder, a new layer', () => {
    const b = sample(4000, [layer('r1', { keyFramesEncoded: 3, qualityLimitationReason: 'cpu' }), layer('r2', { targetBitrate: 450_000, frameWidth: 640, frameHeight: 360 }), layer('r3')]);
    expect(unsteadyReasons({ a, b })).toEqual(['r1: 2 keyframes', 'r1: limited by cpu', 'r2: 960x540 → 640x360', 'r3: new layer', 'target 800 → 850 kbps']);
    // A few kbps moved between layers is the estimate's noise, not a new target.
    expect(unsteadyReasons({ a, b: sample(4000, [layer('r1', { targetBitrate: 194_000 }), layer('r2', { targetBitrate: 606_000 })]) })).toEqual([]);
  });

  it('compares two windows only when the encoder had the same layers, resolutions and targets', () => {
    const ref = { a, b: sample(4000, [layer('r1'), layer('r2')]) };
    expect(encoderStateDiffers(ref, { a, b: sample(9000, [layer('r1'), layer('r2', { targetBitrate: 595_000 })]) })).toEqual([]);
    expect(encoderStateDiffers(ref, { a, b: sample(9000, [layer('r1'), layer('r2', { targetBitrate: 500_000 })]) })).toEqual(['target 800 kbps then 700']);
    expect(encoderStateDiffers(ref, { a, b: sample(9000, [layer('r1')]) })).toEqual(['layers r1,r2 then r1']);
  });

  it('counts the upload per byte of fresh media: retransmissions and overhead raise it, the encoder’s rate does not', () => {
    const from = sample(0, [], { transportBytesSent: 1000, videoBytesSent: 900, audioBytesSent: 50, retransmittedBytesSent: 10 });
    const at = (transport: number, video: number, retransmitted: number) => sample(4000, [], { transportBytesSent: 1000 + transport, videoBytesSent: 900 + video, audioBytesSent: 50, retransmittedBytesSent: 10 + retransmitted });
    expect(uploadPerEncodedByte({ a: from, b: at(102_000, 100_000, 0) })).toBeCloseTo(1.02, 5);
    // The encoder sends 10 % more: the ratio stays.
    expect(uploadPerEncodedByte({ a: from, b: at(112_200, 110_000, 0) })).toBeCloseTo(1.02, 5);
    // 10 % of it sent twice (NACKs): it shows.
    expect(uploadPerEncodedByte({ a: from, b: at(112_200, 110_000, 10_000) })).toBeCloseTo(1.122, 3);
    expect(uploadPerEncodedByte({ a: from, b: from })).toBeNaN();
  });
});
