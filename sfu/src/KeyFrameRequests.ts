import type { SfuLogger } from './logger.ts';
import type { Timer } from './timer.ts';

/**
 * Keyframe requests for one video consumer after it resumes: one at once,
 * then one per retry delay. 3.8.4 simulcast sometimes forwards the first
 * keyframe and then stalls until the browser's own PLI ~3 s later
 * (CALIBRATION.md); asking again fixed 10 of 11 stalled joins.
 *
 * Owned by the consumer's object, which cancels it when it closes.
 */
export class KeyFrameRequests {
  readonly #request: () => Promise<void>;
  readonly #delaysMs: readonly number[];
  readonly #timer: Timer;
  readonly #log: SfuLogger;
  readonly #cancels = new Set<() => void>();

  constructor(options: {
    request: () => Promise<void>;
    delaysMs: readonly number[];
    timer: Timer;
    log: SfuLogger;
  }) {
    this.#request = options.request;
    this.#delaysMs = options.delaysMs;
    this.#timer = options.timer;
    this.#log = options.log;
  }

  /** Retries still scheduled. */
  get pending(): number {
    return this.#cancels.size;
  }

  /** Requests a keyframe now and schedules the retries; a second start replaces the first one's retries. */
  start(): void {
    this.cancel();
    this.#send();
    for (const delayMs of this.#delaysMs) {
      const cancel = this.#timer.schedule(() => {
        this.#cancels.delete(cancel);
        this.#send();
      }, delayMs);
      this.#cancels.add(cancel);
    }
  }

  cancel(): void {
    for (const cancel of this.#cancels) cancel();
    this.#cancels.clear();
  }

  #send(): void {
    this.#request().catch((error: unknown) => {
      // The consumer may have closed while the request was on its way; nothing to retry.
      this.#log.debug({ err: error }, 'requestKeyFrame failed');
    });
  }
}
