import type { UploadSample } from './streamer.ts';

/** Two samples of the streamer's upload: the bytes between them are the window's. */
export interface UploadWindow {
  a: UploadSample;
  b: UploadSample;
}

/**
 * Total target bitrates closer than this are the same allocation: the bandwidth
 * estimate shifts a few kbps between layers all the time (63 ↔ 66 kbps on the
 * low layer, 194 ↔ 200 on the middle one, seen on this box) without the encoder's
 * total output following.
 */
const SAME_TARGET = 0.02;

/**
 * Why a window does not measure the encoder at rest (empty: it does). The
 * upload over a few seconds moves by more than the 5 % a comparison allows
 * whenever the encoder does something other than encode at a fixed rate: a
 * keyframe (a join or a layer switch asked for one) is several frames' worth
 * of bytes, and the rate controller pays it back over the next seconds; a
 * bandwidth estimate that moved changes the target; a CPU- or
 * bandwidth-limited encoder drops resolution or frames.
 */
export function unsteadyReasons({ a, b }: UploadWindow): string[] {
  const reasons: string[] = [];
  if (b.layers.length === 0) reasons.push('no video layers');
  for (const l of b.layers) {
    const prev = a.layers.find((x) => x.rid === l.rid);
    if (!prev) {
      reasons.push(`${l.rid}: new layer`);
      continue;
    }
    const keyframes = l.keyFramesEncoded - prev.keyFramesEncoded;
    if (keyframes > 0) reasons.push(`${l.rid}: ${keyframes} keyframe${keyframes > 1 ? 's' : ''}`);
    if (prev.frameWidth !== l.frameWidth || prev.frameHeight !== l.frameHeight) reasons.push(`${l.rid}: ${prev.frameWidth}x${prev.frameHeight} → ${l.frameWidth}x${l.frameHeight}`);
    for (const reason of new Set([prev.qualityLimitationReason, l.qualityLimitationReason])) {
      if (reason && reason !== 'none') reasons.push(`${l.rid}: limited by ${reason}`);
    }
  }
  if (!sameTarget(totalTarget(a), totalTarget(b))) reasons.push(`target ${kbps(totalTarget(a))} → ${kbps(totalTarget(b))} kbps`);
  return reasons;
}

/**
 * How the encoder's state in `w` differs from `reference` (empty: the same
 * layers, resolutions and total target bitrate). Only two such windows compare
 * what the SFU makes the streamer send, and not what Chrome chose to encode.
 */
export function encoderStateDiffers(reference: UploadWindow, w: UploadWindow): string[] {
  const reasons: string[] = [];
  const rids = (x: UploadWindow) => x.b.layers.map((l) => l.rid).join(',');
  if (rids(reference) !== rids(w)) return [`layers ${rids(reference)} then ${rids(w)}`];
  if (!sameTarget(totalTarget(reference.b), totalTarget(w.b))) reasons.push(`target ${kbps(totalTarget(reference.b))} kbps then ${kbps(totalTarget(w.b))}`);
  for (const l of w.b.layers) {
    const ref = reference.b.layers.find((x) => x.rid === l.rid)!;
    if (ref.frameWidth !== l.frameWidth || ref.frameHeight !== l.frameHeight) reasons.push(`${l.rid}: ${ref.frameWidth}x${ref.frameHeight} then ${l.frameWidth}x${l.frameHeight}`);
  }
  return reasons;
}

/**
 * What the streamer's transport sent per byte of fresh media the encoder
 * produced in the window (first transmissions of RTP, headers included): 1 plus
 * the overhead — RTCP, retransmissions, padding, DTLS/STUN. The encoder's own
 * output at one target still drifts by a few % over tens of seconds (its rate
 * control settling on the content: 479 → 500 kbps on the top layer at the same
 * 600 kbps target, 20 s apart, seen on this box); this ratio does not, and what
 * the SFU could add to the upload shows in it.
 */
export function uploadPerEncodedByte({ a, b }: UploadWindow): number {
  const fresh = b.videoBytesSent + b.audioBytesSent - b.retransmittedBytesSent - (a.videoBytesSent + a.audioBytesSent - a.retransmittedBytesSent);
  return fresh > 0 ? (b.transportBytesSent - a.transportBytesSent) / fresh : Number.NaN;
}

/** Per-layer kbps and encoded fps over a window, for the log. */
export function describeLayers({ a, b }: UploadWindow): string {
  const s = (b.at - a.at) / 1000;
  return b.layers
    .map((l) => {
      const prev = a.layers.find((x) => x.rid === l.rid);
      if (!prev || s <= 0) return `${l.rid} ?`;
      return `${l.rid} ${l.frameWidth}x${l.frameHeight} ${(((l.bytesSent - prev.bytesSent) * 8) / s / 1000).toFixed(0)} kbps (target ${kbps(l.targetBitrate)}) @${((l.framesEncoded - prev.framesEncoded) / s).toFixed(1)} fps`;
    })
    .join(', ');
}

const totalTarget = (s: UploadSample) => s.layers.reduce((sum, l) => sum + l.targetBitrate, 0);

function sameTarget(x: number, y: number): boolean {
  return Math.abs(x - y) <= SAME_TARGET * Math.max(x, y);
}

const kbps = (bps: number) => (bps / 1000).toFixed(0);
