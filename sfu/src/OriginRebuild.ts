import type { types as ms } from 'mediasoup';
import { SfuError } from './errors.ts';
import { OriginRouter } from './OriginRouter.ts';
import type { MediaContext } from './StreamRouterTypes.ts';
import type { WorkerPool } from './WorkerPool.ts';

/** Attempts, and the pause between them: a replacement worker starts in ~100 ms. */
const DEFAULT_ATTEMPTS = 20;
const DEFAULT_RETRY_MS = 250;

/**
 * A new origin router after the old one's worker died. Several workers can
 * die at once (their exits arrive one by one), so a worker that still looks
 * alive may be dying too: it tries the others, then their replacements.
 * Owns its back-off wait; cancel() ends it and the rebuild with it.
 */
export class OriginRebuild {
  readonly #pool: WorkerPool;
  readonly #ctx: MediaContext;
  readonly #attempts: number;
  readonly #retryMs: number;
  #cancelWait: (() => void) | undefined;
  #cancelled = false;

  constructor(options: { pool: WorkerPool; ctx: MediaContext; attempts?: number; retryMs?: number }) {
    this.#pool = options.pool;
    this.#ctx = options.ctx;
    this.#attempts = options.attempts ?? DEFAULT_ATTEMPTS;
    this.#retryMs = options.retryMs ?? DEFAULT_RETRY_MS;
  }

  get cancelled(): boolean {
    return this.#cancelled;
  }

  /** The new origin, or undefined once cancelled; rejects when every attempt failed. */
  async run(): Promise<OriginRouter | undefined> {
    const failed = new Set<ms.Worker>();
    for (let attempt = 0; ; attempt++) {
      let worker: ms.Worker | undefined;
      try {
        worker = await this.#pool.leastLoadedWorker({ avoid: failed });
        const origin = await OriginRouter.create(worker, this.#ctx);
        if (this.#cancelled) {
          origin.close();
          return undefined;
        }
        if (worker.closed || origin.closed) throw new SfuError('worker_unavailable', 'worker died while rebuilding');
        this.#ctx.log.warn(
          { streamId: this.#ctx.streamId, routerId: origin.id, workerPid: worker.pid, attempt },
          'origin worker died; media rebuilt on another worker',
        );
        return origin;
      } catch (error) {
        if (worker) failed.add(worker);
        if (this.#cancelled) return undefined;
        if (attempt >= this.#attempts) throw error;
        await this.#wait();
        if (this.#cancelled) return undefined;
      }
    }
  }

  cancel(): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    this.#cancelWait?.();
  }

  #wait(): Promise<void> {
    return new Promise((resolve) => {
      let cancelTimer = (): void => {};
      const done = () => {
        cancelTimer();
        this.#cancelWait = undefined;
        resolve();
      };
      this.#cancelWait = done;
      cancelTimer = this.#ctx.timer.schedule(done, this.#retryMs);
    });
  }
}
