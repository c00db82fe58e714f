import { describe, expect, it } from 'vitest';
import { buildTimeline, mediaTimeOf, parseTimeline } from './timeline.ts';

// Two runs: the first 10 s long (two segments, 6 s + 4 s) from wall 1000, a 3 s gap, the second 5 s from wall 14 000.
const RUN1 = 1000;
const RUN2 = 14_000;
const timeline = buildTimeline([
  { runStartMs: RUN1, runOffsetMs: 0, durationMs: 6000 },
  { runStartMs: RUN1, runOffsetMs: 6000, durationMs: 4000 },
  { runStartMs: RUN2, runOffsetMs: 0, durationMs: 5000 },
]);

describe('buildTimeline', () => {
  it('puts joined segments one after the other in the file, each at its wall-clock start', () => {
    expect(timeline).toEqual([
      { wallMs: 1000, mediaMs: 0, durationMs: 6000 },
      { wallMs: 7000, mediaMs: 6000, durationMs: 4000 },
      { wallMs: 14_000, mediaMs: 10_000, durationMs: 5000 },
    ]);
  });

  it('a segment left out of the join still moves the wall clock of the ones after it in its run', () => {
    // Run 1's second segment (3 s) was left out: its third starts 3 s later in wall time, right after the first in the file.
    expect(buildTimeline([
      { runStartMs: RUN1, runOffsetMs: 0, durationMs: 6000 },
      { runStartMs: RUN1, runOffsetMs: 9000, durationMs: 1000 },
    ])).toEqual([
      { wallMs: 1000, mediaMs: 0, durationMs: 6000 },
      { wallMs: 10_000, mediaMs: 6000, durationMs: 1000 },
    ]);
  });
});

describe('mediaTimeOf', () => {
  it('inside a run: the time since the run started, plus where the run starts in the file', () => {
    expect(mediaTimeOf(timeline, RUN1, 0)).toBe(0);
    expect(mediaTimeOf(timeline, RUN1 + 2500, 0)).toBe(2500);
    expect(mediaTimeOf(timeline, RUN1 + 8000, 0)).toBe(8000);
    // After the gap the file is 3 s "behind" the wall clock: the chat follows the video, not the clock.
    expect(mediaTimeOf(timeline, RUN2 + 1500, 0)).toBe(11_500);
  });

  it('in a gap (and before the first run): where the next run starts', () => {
    expect(mediaTimeOf(timeline, RUN1 + 10_000, 0)).toBe(10_000);
    expect(mediaTimeOf(timeline, RUN2 - 1, 0)).toBe(10_000);
    expect(mediaTimeOf(timeline, RUN1 - 500, 0)).toBe(0);
  });

  it('after the last run: the end of the file', () => {
    expect(mediaTimeOf(timeline, RUN2 + 5000, 0)).toBe(15_000);
    expect(mediaTimeOf(timeline, RUN2 + 60_000, 0)).toBe(15_000);
  });

  it('without a timeline (finalised before timelines were kept): time since the recording started, never negative', () => {
    expect(mediaTimeOf([], 5000, 1000)).toBe(4000);
    expect(mediaTimeOf([], 500, 1000)).toBe(0);
  });
});

describe('parseTimeline', () => {
  it('reads what was stored, and treats anything else as no timeline', () => {
    expect(parseTimeline(JSON.stringify(timeline))).toEqual(timeline);
    for (const bad of [null, '', 'not json', '{}', '[{"wallMs":1}]', '[{"wallMs":1,"mediaMs":0,"durationMs":"5"}]', '[null]']) expect(parseTimeline(bad)).toEqual([]);
  });
});
