// The studio's upload budget → the camera's simulcast layers. Each layer is
// capped (maxBitrate) so that all of them together, plus audio and packet
// overhead, stay under what the streamer's uplink can carry; below ~0.8 Mbps
// a second layer would starve the first, so one layer is sent. The same
// numbers are the advice for OBS users in docs/obs.md.

/** Opus (~32 kbps) plus RTP/SRTP/UDP overhead of audio and video, kept out of the video budget. */
export const AUDIO_AND_OVERHEAD_BPS = 80_000;
/** Under this budget one layer is sent; under `THREE_LAYERS_FROM_BPS` two. */
export const ONE_LAYER_BELOW_BPS = 800_000;
export const THREE_LAYERS_FROM_BPS = 2_000_000;
/** Budgets the studio offers (bps); 'auto' measures the uplink first. */
export const BUDGET_CHOICES = [600_000, 1_500_000, 3_000_000] as const;
export const RESOLUTION_CHOICES = [720, 480, 360] as const;
/** An auto budget is this share of the measured uplink: the rest absorbs cross traffic and bursts. */
export const AUTO_BUDGET_SHARE = 0.7;
export const AUTO_BUDGET_MIN_BPS = 300_000;
export const AUTO_BUDGET_MAX_BPS = 6_000_000;

/** Bitrate shares of the layers, lowest first (the top one carries most). */
const SHARES: Record<1 | 2 | 3, readonly number[]> = { 1: [1], 2: [0.3, 0.7], 3: [0.1, 0.25, 0.65] };

export interface LayerPlan {
  /** Output height of the layer in pixels. */
  height: number;
  scaleResolutionDownBy: number;
  maxBitrate: number;
}

/** The tallest picture a layer's bitrate keeps sharp (H.264/VP8 at 30 fps, camera content). */
export function heightFor(bps: number): number {
  if (bps >= 900_000) return 720;
  if (bps >= 600_000) return 540;
  if (bps >= 250_000) return 360;
  return 180;
}

/**
 * The camera's encodings for a budget, lowest first as mediasoup expects.
 * `captureHeight` is what the camera delivers, `maxHeight` the streamer's
 * resolution choice.
 */
export function planLayers(budgetBps: number, captureHeight: number, maxHeight: number): LayerPlan[] {
  const video = Math.max(100_000, budgetBps - AUDIO_AND_OVERHEAD_BPS);
  const count: 1 | 2 | 3 = budgetBps < ONE_LAYER_BELOW_BPS ? 1 : budgetBps < THREE_LAYERS_FROM_BPS ? 2 : 3;
  const shares = SHARES[count];
  const topBitrate = Math.floor(video * shares[shares.length - 1]!);
  const topHeight = Math.min(captureHeight, maxHeight, heightFor(topBitrate));
  return shares.map((share, i) => {
    // Each layer below the top halves the size.
    const height = Math.max(90, Math.round(topHeight / 2 ** (shares.length - 1 - i)));
    return { height, scaleResolutionDownBy: captureHeight / height, maxBitrate: Math.floor(video * share) };
  });
}

/** A budget from a measured uplink (bps). */
export function autoBudget(measuredBps: number): number {
  return Math.round(Math.min(AUTO_BUDGET_MAX_BPS, Math.max(AUTO_BUDGET_MIN_BPS, measuredBps * AUTO_BUDGET_SHARE)));
}

export interface SentLayer {
  rid: string;
  width: number;
  height: number;
  fps: number;
  bps: number;
  /** 'bandwidth', 'cpu', 'other' or 'none', as the browser's encoder reports it. */
  limitation: string;
}

/** The warning the studio shows for an encoder the browser holds back, or null. */
export function limitationWarning(layers: readonly SentLayer[]): string | null {
  const reasons = new Set(layers.map((l) => l.limitation));
  if (reasons.has('bandwidth')) return 'Your upload is too slow for this quality: viewers get a smaller or blurrier picture. Choose a lower budget.';
  if (reasons.has('cpu')) return 'Your computer is struggling to encode the video: the picture is reduced. Close other programs or choose a lower resolution.';
  return null;
}
