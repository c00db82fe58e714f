import { describe, expect, it } from 'vitest';
import { BitSet, LatencyHistogram, percentile, summarize } from './stats.ts';

describe('percentiles', () => {
  it('uses the nearest rank', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(v, 50)).toBe(50);
    expect(percentile(v, 99)).toBe(99);
    expect(percentile(v, 100)).toBe(100);
    expect(percentile([], 50)).toBeNull();
    expect(summarize([3, 1, 2])).toMatchObject({ count: 3, min: 1, p50: 2, max: 3, mean: 2 });
  });
});

describe('LatencyHistogram', () => {
  it('answers percentiles within 1.5 % and merges across processes', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    for (let i = 1; i <= 1000; i++) (i % 2 ? a : b).record(i / 10);
    const merged = LatencyHistogram.fromJSON(a.toJSON()).merge(b.toJSON());
    expect(merged.count).toBe(1000);
    expect(Math.abs(merged.percentile(50)! - 50) / 50).toBeLessThan(0.015);
    expect(Math.abs(merged.percentile(99)! - 99) / 99).toBeLessThan(0.015);
    expect(merged.max).toBe(100);
  });
});

describe('BitSet', () => {
  it('spots duplicates, grows, and counts intersections', () => {
    const s = new BitSet();
    expect(s.add(3)).toBe(true);
    expect(s.add(3)).toBe(false);
    expect(s.add(100_000)).toBe(true);
    const t = new BitSet();
    t.add(3);
    t.add(7);
    expect(s.size).toBe(2);
    expect(s.intersectionSize(t)).toBe(1);
    expect(new BitSet(s.bytes).union(t).size).toBe(3);
  });
});
