import { getStreamWithStreamer, listOpenStreams, transitionStream, type Db, type StreamWithStreamer } from '@redred/db';
import { END_REASONS, evaluateStream, factsFromRow, formatDuration, type SweepRules, type Verdict } from '../live/stream-rules.ts';
import type { CliIo } from './io.ts';
import { renderTable } from './table.ts';

// `redred streams check|cleanup|force-cleanup`: the operator's side of the
// stream lifecycle. Only the database is touched, through the state machine;
// a running server notices ended streams within its room-sync interval and
// tells their viewers.

export const EXIT = { ok: 0, error: 1, usage: 2 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export interface StreamsCommandContext {
  db: Db;
  now: number;
  rules: SweepRules;
  io: CliIo;
}

interface Assessed {
  stream: StreamWithStreamer;
  verdict: Verdict | null;
}

function assess(streams: StreamWithStreamer[], now: number, rules: SweepRules): Assessed[] {
  return streams.map((stream) => ({ stream, verdict: evaluateStream(stream, factsFromRow(stream), now, rules) }));
}

/** The last time anything showed the stream alive: activity, an audience, or its streamer. */
function lastActivityAt(s: StreamWithStreamer): number {
  return Math.max(s.last_activity_at, s.last_viewer_at ?? 0, s.streamer_seen_at ?? 0);
}

function describe(s: StreamWithStreamer): string {
  return `stream ${s.id} (${s.streamer_username}, ${s.status})`;
}

function streamTable(rows: Assessed[], now: number): string[] {
  return renderTable(
    ['ID', 'STREAMER', 'STATUS', 'AGE', 'LIVE FOR', 'VIEWERS', 'LAST ACTIVITY', 'WOULD END'],
    rows.map(({ stream: s, verdict }) => [
      String(s.id),
      s.streamer_username,
      s.status,
      formatDuration(now - s.created_at),
      s.started_at === null ? '-' : formatDuration(now - s.started_at),
      String(s.viewers_count),
      `${formatDuration(now - lastActivityAt(s))} ago`,
      verdict ? `${verdict.reason}: ${verdict.detail}` : '-',
    ]),
  );
}

/** Prints every stream that is not ended, and which rule would end it. Changes nothing. */
export async function checkStreams(ctx: StreamsCommandContext, opts: { json: boolean }): Promise<ExitCode> {
  const rows = assess(await listOpenStreams(ctx.db), ctx.now, ctx.rules);
  if (opts.json) {
    ctx.io.out(
      JSON.stringify(
        rows.map(({ stream: s, verdict }) => ({
          id: s.id,
          streamer: s.streamer_username,
          status: s.status,
          createdAt: s.created_at,
          startedAt: s.started_at,
          viewers: s.viewers_count,
          lastActivityAt: lastActivityAt(s),
          wouldEnd: verdict,
        })),
        null,
        2,
      ),
    );
    return EXIT.ok;
  }
  if (rows.length === 0) {
    ctx.io.out('no open streams');
    return EXIT.ok;
  }
  for (const line of streamTable(rows, ctx.now)) ctx.io.out(line);
  const doomed = rows.filter((r) => r.verdict).length;
  ctx.io.out('');
  ctx.io.out(`${rows.length} open stream${rows.length === 1 ? '' : 's'}; ${doomed} would be ended by \`redred streams cleanup\``);
  return EXIT.ok;
}

/** Ends the streams the sweeper's rules would end; with `dryRun`, only says so. */
export async function cleanupStreams(ctx: StreamsCommandContext, opts: { dryRun: boolean }): Promise<ExitCode> {
  const rows = assess(await listOpenStreams(ctx.db), ctx.now, ctx.rules);
  let ended = 0;
  for (const { stream, verdict } of rows) {
    if (!verdict) continue;
    if (opts.dryRun) {
      ctx.io.out(`would end ${describe(stream)}: ${verdict.reason}: ${verdict.detail}`);
      ended++;
      continue;
    }
    const res = await transitionStream(ctx.db, stream.id, 'ended', { now: ctx.now, reason: verdict.reason });
    if (res.ok) {
      ctx.io.out(`ended ${describe(stream)}: ${verdict.reason}: ${verdict.detail}`);
      ended++;
    } else {
      ctx.io.out(`skipped stream ${stream.id}: ended meanwhile`);
    }
  }
  const verb = opts.dryRun ? 'would end' : 'ended';
  ctx.io.out(`${verb} ${ended} of ${rows.length} open stream${rows.length === 1 ? '' : 's'}${opts.dryRun ? ' (dry run: nothing changed)' : ''}`);
  return EXIT.ok;
}

/** Ends every stream that is not ended, or the one `id`, after a confirmation unless `yes`. */
export async function forceCleanupStreams(ctx: StreamsCommandContext, opts: { id: number | undefined; yes: boolean }): Promise<ExitCode> {
  let targets: StreamWithStreamer[];
  if (opts.id !== undefined) {
    const stream = await getStreamWithStreamer(ctx.db, opts.id);
    if (!stream) {
      ctx.io.err(`redred: there is no stream ${opts.id}`);
      return EXIT.error;
    }
    if (stream.status === 'ended') {
      ctx.io.out(`stream ${stream.id} already ended (${stream.end_reason ?? 'ended'}); nothing to do`);
      return EXIT.ok;
    }
    targets = [stream];
  } else {
    targets = await listOpenStreams(ctx.db);
    if (targets.length === 0) {
      ctx.io.out('no open streams; nothing to do');
      return EXIT.ok;
    }
  }

  for (const line of streamTable(assess(targets, ctx.now, ctx.rules), ctx.now)) ctx.io.out(line);
  if (!opts.yes) {
    const what = targets.length === 1 ? 'this stream' : `these ${targets.length} streams`;
    if (!(await ctx.io.confirm(`End ${what}? Their viewers are disconnected. [y/N] `))) {
      ctx.io.err('aborted: nothing changed');
      return EXIT.error;
    }
  }

  let ended = 0;
  for (const stream of targets) {
    const res = await transitionStream(ctx.db, stream.id, 'ended', { now: ctx.now, reason: END_REASONS.forceCleanup });
    if (res.ok) {
      ctx.io.out(`ended ${describe(stream)}: ${END_REASONS.forceCleanup}`);
      ended++;
    } else {
      ctx.io.out(`skipped stream ${stream.id}: ended meanwhile`);
    }
  }
  ctx.io.out(`ended ${ended} stream${ended === 1 ? '' : 's'}; a running server tells their viewers within seconds`);
  return EXIT.ok;
}
