/** Milliseconds since the epoch with sub-millisecond resolution; comparable across processes on one box. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Nearest-rank percentile of a list (p in 0..100); null when empty. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export interface Summary {
  count: number;
  min: number | null;
  p5: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => (sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!);
  return {
    count: sorted.length,
    min: sorted.length ? sorted[0]! : null,
    p5: at(5),
    p50: at(50),
    p95: at(95),
    p99: at(99),
    max: sorted.length ? sorted[sorted.length - 1]! : null,
    mean: sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : null,
  };
}

/**
 * A log-bucketed latency histogram (≈1 % relative precision, 0.01 ms to ~1 h)
 * for figures with too many samples to keep: chat delivery at thousands of
 * receivers. Mergeable across processes through `toJSON()` / `fromJSON()`.
 */
export class LatencyHistogram {
  /** Buckets per doubling: 2^(1/70) ≈ 1 % wide. */
  static readonly #PER_OCTAVE = 70;
  static readonly #MIN_MS = 0.01;
  static readonly #BUCKETS = 70 * 29;
  readonly #counts: Uint32Array;
  #total = 0;
  #sum = 0;
  #max = 0;

  constructor(counts?: Uint32Array) {
    this.#counts = counts ?? new Uint32Array(LatencyHistogram.#BUCKETS);
    for (const c of this.#counts) this.#total += c;
  }

  get count(): number {
    return this.#total;
  }

  record(ms: number): void {
    const v = Math.max(ms, LatencyHistogram.#MIN_MS);
    const i = Math.min(LatencyHistogram.#BUCKETS - 1, Math.floor(Math.log2(v / LatencyHistogram.#MIN_MS) * LatencyHistogram.#PER_OCTAVE));
    this.#counts[i]!++;
    this.#total++;
    this.#sum += ms;
    if (ms > this.#max) this.#max = ms;
  }

  /** The upper edge of the bucket holding the p-th percentile. */
  percentile(p: number): number | null {
    if (this.#total === 0) return null;
    const target = Math.max(1, Math.ceil((p / 100) * this.#total));
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i]!;
      if (seen >= target) return Math.min(this.#max, LatencyHistogram.#MIN_MS * 2 ** ((i + 1) / LatencyHistogram.#PER_OCTAVE));
    }
    return this.#max;
  }

  get mean(): number | null {
    return this.#total === 0 ? null : this.#sum / this.#total;
  }

  get max(): number | null {
    return this.#total === 0 ? null : this.#max;
  }

  merge(other: LatencyHistogram | SerializedHistogram): this {
    const o = other instanceof LatencyHistogram ? other.toJSON() : other;
    for (const [i, c] of o.buckets) this.#counts[i] = this.#counts[i]! + c;
    this.#total += o.total;
    this.#sum += o.sum;
    if (o.max > this.#max) this.#max = o.max;
    return this;
  }

  /** Sparse: only non-empty buckets. */
  toJSON(): SerializedHistogram {
    const buckets: [number, number][] = [];
    this.#counts.forEach((c, i) => {
      if (c > 0) buckets.push([i, c]);
    });
    return { buckets, total: this.#total, sum: this.#sum, max: this.#max };
  }

  static fromJSON(s: SerializedHistogram): LatencyHistogram {
    return new LatencyHistogram().merge(s);
  }

  summary(): { count: number; p50: number | null; p95: number | null; p99: number | null; max: number | null; mean: number | null } {
    return { count: this.#total, p50: this.percentile(50), p95: this.percentile(95), p99: this.percentile(99), max: this.max, mean: this.mean };
  }
}

export interface SerializedHistogram {
  buckets: [number, number][];
  total: number;
  sum: number;
  max: number;
}

/** A growable bit set over non-negative integers (chat sequence numbers). */
export class BitSet {
  #bytes: Uint8Array;

  constructor(bytes?: Uint8Array) {
    this.#bytes = bytes ?? new Uint8Array(64);
  }

  /** Sets bit `i`; returns false when it was already set (a duplicate). */
  add(i: number): boolean {
    const byte = i >>> 3;
    if (byte >= this.#bytes.length) {
      const grown = new Uint8Array(Math.max(byte + 1, this.#bytes.length * 2));
      grown.set(this.#bytes);
      this.#bytes = grown;
    }
    const mask = 1 << (i & 7);
    if (this.#bytes[byte]! & mask) return false;
    this.#bytes[byte]! |= mask;
    return true;
  }

  has(i: number): boolean {
    const byte = i >>> 3;
    return byte < this.#bytes.length && (this.#bytes[byte]! & (1 << (i & 7))) !== 0;
  }

  get size(): number {
    let n = 0;
    for (const b of this.#bytes) n += POPCOUNT[b]!;
    return n;
  }

  /** |this ∩ other| */
  intersectionSize(other: BitSet): number {
    const a = this.#bytes;
    const b = other.#bytes;
    const len = Math.min(a.length, b.length);
    let n = 0;
    for (let i = 0; i < len; i++) n += POPCOUNT[a[i]! & b[i]!]!;
    return n;
  }

  union(other: BitSet): this {
    const b = other.#bytes;
    if (b.length > this.#bytes.length) {
      const grown = new Uint8Array(b.length);
      grown.set(this.#bytes);
      this.#bytes = grown;
    }
    for (let i = 0; i < b.length; i++) this.#bytes[i]! |= b[i]!;
    return this;
  }

  get bytes(): Uint8Array {
    return this.#bytes;
  }
}

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, i) => {
  let n = 0;
  for (let v = i; v; v >>= 1) n += v & 1;
  return n;
});
