/**
 * Fixed-capacity sliding-log limiter keyed by string (IP, username, user id).
 * Memory is bounded: keys idle past the window are dropped on access and by `prune()`.
 */
export class SlidingWindowLimiter {
  readonly #hits = new Map<string, number[]>();

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  /** Records a hit if allowed; otherwise returns the ms until the next one is. */
  take(key: string, now: number): { ok: true } | { ok: false; retryAfterMs: number } {
    const hits = this.#recent(key, now);
    if (hits.length >= this.limit) return { ok: false, retryAfterMs: Math.max(1, hits[0]! + this.windowMs - now) };
    hits.push(now);
    this.#hits.set(key, hits);
    return { ok: true };
  }

  /** Would a hit be allowed now? Does not record one. */
  check(key: string, now: number): { ok: true } | { ok: false; retryAfterMs: number } {
    const hits = this.#recent(key, now);
    if (hits.length >= this.limit) return { ok: false, retryAfterMs: Math.max(1, hits[0]! + this.windowMs - now) };
    return { ok: true };
  }

  reset(key: string): void {
    this.#hits.delete(key);
  }

  prune(now: number): void {
    for (const [key, hits] of this.#hits) {
      if (hits.length === 0 || hits[hits.length - 1]! <= now - this.windowMs) this.#hits.delete(key);
    }
  }

  #recent(key: string, now: number): number[] {
    const hits = this.#hits.get(key);
    if (!hits) return [];
    let i = 0;
    while (i < hits.length && hits[i]! <= now - this.windowMs) i++;
    if (i > 0) hits.splice(0, i);
    return hits;
  }
}

/** Token bucket for per-connection message rates: allows bursts, holds an average. */
export class TokenBucket {
  #tokens: number;
  #last: number;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    now: number,
  ) {
    this.#tokens = burst;
    this.#last = now;
  }

  take(now: number): boolean {
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) / 1000) * this.ratePerSecond);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
