import { describe, expect, it } from 'vitest';
import { evaluateStream, factsFromRow, formatDuration, type StreamRuleInput, type SweepRules } from './stream-rules.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const rules: SweepRules = { maxLiveMs: 4 * HOUR, idleNoViewersMs: 30 * MIN, waitingNoStreamerMs: 30 * MIN };
const T0 = 1_800_000_000_000;

function live(over: Partial<StreamRuleInput> = {}): StreamRuleInput {
  return { status: 'live', created_at: T0 - MIN, started_at: T0, last_viewer_at: null, viewers_count: 0, streamer_seen_at: T0, ...over };
}
function waiting(over: Partial<StreamRuleInput> = {}): StreamRuleInput {
  return { status: 'waiting', created_at: T0, started_at: null, last_viewer_at: null, viewers_count: 0, streamer_seen_at: null, ...over };
}
const nobody = { viewers: 0, streamerConnected: null };

describe('evaluateStream', () => {
  it('ends a live stream only once it has been live for longer than maxLiveMs, viewers or not', () => {
    const s = live({ last_viewer_at: T0 + 4 * HOUR });
    const watched = { viewers: 12, streamerConnected: true };
    expect(evaluateStream(s, watched, T0 + 4 * HOUR, rules)).toBeNull();
    expect(evaluateStream(s, watched, T0 + 4 * HOUR + 1, rules)).toMatchObject({ rule: 'max_duration', reason: 'max_duration' });
  });

  it('ends a live stream nobody watched for longer than idleNoViewersMs, counted from the start', () => {
    expect(evaluateStream(live(), nobody, T0 + 30 * MIN, rules)).toBeNull();
    expect(evaluateStream(live(), nobody, T0 + 30 * MIN + 1, rules)).toMatchObject({ rule: 'idle_no_viewers', reason: 'idle_no_viewers' });
  });

  it('counts idleness from the last viewer when there was one', () => {
    const s = live({ last_viewer_at: T0 + HOUR });
    expect(evaluateStream(s, nobody, T0 + HOUR + 30 * MIN, rules)).toBeNull();
    expect(evaluateStream(s, nobody, T0 + HOUR + 30 * MIN + 1, rules)?.reason).toBe('idle_no_viewers');
  });

  it('never ends a stream with viewers for idleness, however old its stored timestamps', () => {
    const s = live({ last_viewer_at: null });
    for (const at of [T0 + 31 * MIN, T0 + 2 * HOUR, T0 + 4 * HOUR]) {
      expect(evaluateStream(s, { viewers: 1, streamerConnected: null }, at, rules)).toBeNull();
    }
    // The CLI's view of the same stream: the stored count, which a server keeps current.
    expect(evaluateStream(live({ viewers_count: 3 }), factsFromRow(live({ viewers_count: 3 })), T0 + 2 * HOUR, rules)).toBeNull();
  });

  it('ends a waiting stream whose streamer never connected within waitingNoStreamerMs', () => {
    expect(evaluateStream(waiting(), nobody, T0 + 30 * MIN, rules)).toBeNull();
    expect(evaluateStream(waiting(), nobody, T0 + 30 * MIN + 1, rules)).toMatchObject({ rule: 'waiting_no_streamer', reason: 'streamer_never_connected' });
  });

  it('keeps a waiting stream while its streamer is connected, and counts absence from when it was last seen', () => {
    expect(evaluateStream(waiting(), { viewers: 0, streamerConnected: true }, T0 + 5 * HOUR, rules)).toBeNull();
    const seen = waiting({ streamer_seen_at: T0 + HOUR });
    expect(evaluateStream(seen, nobody, T0 + HOUR + 30 * MIN, rules)).toBeNull();
    expect(evaluateStream(seen, { viewers: 0, streamerConnected: false }, T0 + HOUR + 30 * MIN + 1, rules)).toMatchObject({ rule: 'waiting_no_streamer', reason: 'streamer_left' });
  });

  it('does not apply live rules to waiting streams, nor any rule to ended ones', () => {
    expect(evaluateStream(waiting({ streamer_seen_at: T0 + 5 * HOUR }), nobody, T0 + 5 * HOUR, rules)).toBeNull();
    expect(evaluateStream(live({ status: 'ended' }), nobody, T0 + 100 * HOUR, rules)).toBeNull();
  });

  it('explains its verdict with the figures', () => {
    expect(evaluateStream(live(), nobody, T0 + 41 * MIN, rules)?.detail).toBe('no viewers for 41m (max 30m)');
    expect(formatDuration(4 * HOUR + 5 * MIN)).toBe('4h05m');
    expect(formatDuration(50 * HOUR)).toBe('2d02h');
    expect(formatDuration(-5)).toBe('0s');
  });
});
