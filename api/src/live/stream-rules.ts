import type { LiveStream } from '@redred/db';
import type { AppConfig } from '../config.ts';

// The rules that end a stream nobody ended, as one pure function: the server's
// sweeper and the operator CLI (`redred streams check|cleanup`) both call it,
// so what `check` says would happen is what the sweeper does.

/** Why a stream ended: the `reason` of `stream_ended` and the `end_reason` column. */
export const END_REASONS = {
  /** The streamer sent `end_stream`. */
  streamerEnded: 'streamer_ended',
  /** Live longer than `maxLiveMs`. */
  maxDuration: 'max_duration',
  /** Live with nobody watching for longer than `idleNoViewersMs`. */
  idleNoViewers: 'idle_no_viewers',
  /** Waiting, and the streamer never connected within `waitingNoStreamerMs`. */
  streamerNeverConnected: 'streamer_never_connected',
  /** Waiting, and the streamer left without going live and stayed away for `waitingNoStreamerMs`. */
  streamerLeft: 'streamer_left',
  /** Live when a server died, and not resumed by its streamer within the restart grace period. */
  serverRestart: 'server_restart',
  /** Live, and its publisher (browser studio or encoder) gone and not back within STREAMER_GONE_MS. */
  publisherLost: 'publisher_lost',
  /** Ended by a site admin (the admin page); stored as `admin_ended: <the admin's reason>` when one was given. */
  adminEnded: 'admin_ended',
  /** Ended by an operator with `redred streams force-cleanup`. */
  forceCleanup: 'force_cleanup',
  /** Sent to the peers of a stream whose row no longer exists (removed by hand); never stored. */
  streamGone: 'stream_gone',
} as const;
export type EndReason = (typeof END_REASONS)[keyof typeof END_REASONS];

/**
 * The stored and sent reason of an admin's end: the code, then the admin's words
 * after `: ` (viewers are shown them). Codes never contain `:`, so a reader splits at the first.
 */
export function adminEndReason(text: string): string {
  const words = text.replace(/\s+/g, ' ').trim();
  return words ? `${END_REASONS.adminEnded}: ${words}` : END_REASONS.adminEnded;
}

export type SweepRule = 'max_duration' | 'idle_no_viewers' | 'waiting_no_streamer';

/** The thresholds of the rules (config.sweeper, env SWEEP_*). */
export type SweepRules = Pick<AppConfig['sweeper'], 'maxLiveMs' | 'idleNoViewersMs' | 'waitingNoStreamerMs'>;

/** The stored columns the rules read. */
export type StreamRuleInput = Pick<LiveStream, 'status' | 'created_at' | 'started_at' | 'last_viewer_at' | 'viewers_count' | 'streamer_seen_at'>;

/** What is true of the stream right now, beyond its row. */
export interface StreamFacts {
  /** People watching now: the room's live count where this process carries the stream, else the stored count. */
  viewers: number;
  /** The streamer's socket is connected now; null when unknown (the CLI sees only the database). */
  streamerConnected: boolean | null;
}

export interface Verdict {
  rule: SweepRule;
  reason: EndReason;
  /** For people: why, with the figures (`no viewers for 41m`). */
  detail: string;
}

/** Facts from the row alone: what the CLI knows. A running server refreshes both columns the rules read. */
export function factsFromRow(stream: StreamRuleInput): StreamFacts {
  return { viewers: stream.viewers_count, streamerConnected: null };
}

/**
 * Which rule ends this stream at `now`, or null. Thresholds are strict: a stream
 * exactly `maxLiveMs` old is kept. Where several rules apply, max duration wins.
 */
export function evaluateStream(stream: StreamRuleInput, facts: StreamFacts, now: number, rules: SweepRules): Verdict | null {
  switch (stream.status) {
    case 'ended':
      return null;
    case 'live': {
      const startedAt = stream.started_at ?? stream.created_at;
      const liveFor = now - startedAt;
      if (liveFor > rules.maxLiveMs) {
        return { rule: 'max_duration', reason: END_REASONS.maxDuration, detail: `live for ${formatDuration(liveFor)} (max ${formatDuration(rules.maxLiveMs)})` };
      }
      // Someone watching now is never idle, whatever the stored timestamps say.
      if (facts.viewers > 0) return null;
      const noViewersSince = Math.max(stream.last_viewer_at ?? startedAt, startedAt);
      const idleFor = now - noViewersSince;
      if (idleFor > rules.idleNoViewersMs) {
        return { rule: 'idle_no_viewers', reason: END_REASONS.idleNoViewers, detail: `no viewers for ${formatDuration(idleFor)} (max ${formatDuration(rules.idleNoViewersMs)})` };
      }
      return null;
    }
    case 'waiting': {
      if (facts.streamerConnected === true) return null;
      const noStreamerSince = Math.max(stream.created_at, stream.streamer_seen_at ?? stream.created_at);
      const absentFor = now - noStreamerSince;
      if (absentFor <= rules.waitingNoStreamerMs) return null;
      const never = stream.streamer_seen_at === null;
      return {
        rule: 'waiting_no_streamer',
        reason: never ? END_REASONS.streamerNeverConnected : END_REASONS.streamerLeft,
        detail: `${never ? 'streamer never connected' : 'streamer gone'} for ${formatDuration(absentFor)} (max ${formatDuration(rules.waitingNoStreamerMs)})`,
      };
    }
    default: {
      const unreachable: never = stream.status;
      throw new Error(`unknown stream status ${String(unreachable)}`);
    }
  }
}

/** `45s`, `12m`, `3h05m`, `2d04h`: compact, for tables and log details. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}
