// A wall-clock timestamp drawn into a published canvas as a row of black and
// white blocks, and read back from a received frame: glass-to-glass latency
// for publisher and viewer pages in one browser (one clock). Blocks survive
// H.264/VP8 compression and the quarter-size simulcast layer.

export const CODE_BITS = 32;
/** Block edge as a fraction of the frame width: 32 blocks span 80 % of it. */
const BLOCK_FRACTION = 0.025;

export function drawTimestamp(ctx: CanvasRenderingContext2D, width: number, ms: number): void {
  const block = Math.floor(width * BLOCK_FRACTION);
  const value = ms % 2 ** CODE_BITS;
  ctx.fillStyle = '#808080';
  ctx.fillRect(0, 0, block * (CODE_BITS + 2), block * 3);
  for (let bit = 0; bit < CODE_BITS; bit++) {
    ctx.fillStyle = Math.floor(value / 2 ** (CODE_BITS - 1 - bit)) % 2 === 1 ? '#ffffff' : '#000000';
    ctx.fillRect(block * (bit + 1), block, block, block);
  }
}

/** The timestamp in a frame drawn at `width`, or null when the blocks are not readable (a frame mid-transition). */
export function readTimestamp(ctx: CanvasRenderingContext2D, width: number): number | null {
  const block = width * BLOCK_FRACTION;
  const row = ctx.getImageData(0, Math.floor(block * 1.5), Math.ceil(block * (CODE_BITS + 2)), 1).data;
  let value = 0;
  for (let bit = 0; bit < CODE_BITS; bit++) {
    const x = Math.floor(block * (bit + 1.5));
    const luma = (row[x * 4]! + row[x * 4 + 1]! + row[x * 4 + 2]!) / 3;
    // Far from both ends: compression smeared this block, the frame is not trusted.
    if (luma > 60 && luma < 195) return null;
    value = value * 2 + (luma >= 128 ? 1 : 0);
  }
  return value;
}

/** `now` (ms) minus the timestamp read back, allowing for the 32-bit wrap. */
export function ageOf(stamp: number, now: number): number {
  return (now % 2 ** CODE_BITS) - stamp;
}

/** Reads the timestamp drawn by the publisher out of frames as `video` presents them. */
export function sampleLatency(video: HTMLVideoElement, count: number, timeoutMs: number): Promise<number[]> {
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  const samples: number[] = [];
  let readable = 0;
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`only ${samples.length} of ${count} latency samples`)), timeoutMs);
    const onFrame = () => {
      const now = Date.now();
      if (video.videoWidth > 0) {
        canvas.width = video.videoWidth;
        canvas.height = video.videoHeight;
        ctx.drawImage(video, 0, 0);
        const stamp = readTimestamp(ctx, canvas.width);
        // Every 10th readable frame: samples spread over ~a third of a second each, not one burst.
        if (stamp !== null && readable++ % 10 === 0) samples.push(ageOf(stamp, now));
      }
      if (samples.length >= count) {
        clearTimeout(deadline);
        resolve(samples);
        return;
      }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  });
}

