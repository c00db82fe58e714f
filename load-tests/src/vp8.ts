// VP8 RTP payload checks for the decrypting viewers (RFC 7741 payload
// descriptor, RFC 6386 §9.1 frame header): proof that what the SFU forwards
// after SRTP decryption is real, well-formed video.

export interface Vp8PacketInfo {
  /** First packet of a frame (S=1, partition 0). */
  frameStart: boolean;
  keyframe: boolean;
  /** Only for keyframe starts. */
  width: number;
  height: number;
  /** Descriptor parsed; for keyframe starts, the start code 9d 01 2a was found too. */
  valid: boolean;
}

const INVALID: Vp8PacketInfo = { frameStart: false, keyframe: false, width: 0, height: 0, valid: false };

export function parseVp8Payload(p: Uint8Array): Vp8PacketInfo {
  if (p.length < 1) return INVALID;
  const b0 = p[0]!;
  const extended = (b0 & 0x80) !== 0;
  const start = (b0 & 0x10) !== 0;
  const partition = b0 & 0x07;
  let i = 1;
  if (extended) {
    if (p.length < 2) return INVALID;
    const x = p[1]!;
    i = 2;
    if (x & 0x80) i += p[i]! & 0x80 ? 2 : 1; // PictureID, 7 or 15 bits
    if (x & 0x40) i += 1; // TL0PICIDX
    if (x & 0x30) i += 1; // TID / KEYIDX
  }
  if (i > p.length) return INVALID;
  if (!start || partition !== 0) return { frameStart: false, keyframe: false, width: 0, height: 0, valid: true };
  if (p.length < i + 3) return INVALID;
  const keyframe = (p[i]! & 0x01) === 0;
  if (!keyframe) return { frameStart: true, keyframe: false, width: 0, height: 0, valid: true };
  if (p.length < i + 10 || p[i + 3] !== 0x9d || p[i + 4] !== 0x01 || p[i + 5] !== 0x2a) return { ...INVALID, frameStart: true, keyframe: true };
  const width = (p[i + 6]! | (p[i + 7]! << 8)) & 0x3fff;
  const height = (p[i + 8]! | (p[i + 9]! << 8)) & 0x3fff;
  return { frameStart: true, keyframe: true, width, height, valid: width > 0 && height > 0 };
}

/** An Opus packet has at least its TOC byte; a zero-length payload is a DTX gap, not an error. */
export function isPlausibleOpus(p: Uint8Array): boolean {
  return p.length >= 1;
}
