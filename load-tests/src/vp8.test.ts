import { describe, expect, it } from 'vitest';
import { parseVp8Payload } from './vp8.ts';

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
