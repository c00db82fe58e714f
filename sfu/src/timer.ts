/**
 * Schedules callbacks; the returned function cancels one and may be called
 * any number of times. Every object that waits (keyframe retries, the origin
 * rebuild's back-off) takes one, so tests drive time instead of sleeping.
 */
export interface Timer {
  schedule(callback: () => void, delayMs: number): () => void;
}

export const systemTimer: Timer = {
  schedule(callback, delayMs) {
    const handle = setTimeout(callback, delayMs);
    return () => clearTimeout(handle);
  },
};
