import { sql } from 'kysely';
import type { Db } from './database.ts';
import { isUniqueViolation } from './dialect.ts';
import type { LiveStream, StreamStatus } from './schema.ts';

/**
 * The stream state machine, in one place: waiting → live → ended, and
 * waiting → ended (a stream abandoned before it went live). Nothing leaves `ended`.
 */
const STREAM_TRANSITIONS: Readonly<Record<StreamStatus, readonly StreamStatus[]>> = {
  waiting: ['live', 'ended'],
  live: ['ended'],
  ended: [],
};

/**
 * viewer_ms with the current count's time since the last change folded in, up
 * to `now`. Portable SQL: SQLite's two-argument max() is greatest() in PostgreSQL.
 */
const viewerMsUntil = (now: number) =>
  sql<number>`viewer_ms + case when status = 'live' and viewers_changed_at is not null and ${now} > viewers_changed_at then viewers_count * (${now} - viewers_changed_at) else 0 end`;

function canTransition(from: StreamStatus, to: StreamStatus): boolean {
  return STREAM_TRANSITIONS[from].includes(to);
}

export type CreateStreamResult = { ok: true; stream: LiveStream } | { ok: false; reason: 'stream_already_open'; stream: LiveStream };

export async function createStream(
  db: Db,
  input: { streamerId: number; title: string; description: string; now: number },
): Promise<CreateStreamResult> {
  try {
    return await insertStreamIfNoneOpen(db, input);
  } catch (err) {
    // Two creations racing past the check (pooled PostgreSQL connections, two
    // nodes): the partial unique index refuses the second; report it as the check would.
    if (!isUniqueViolation(err)) throw err;
    const open = await findOpenStreamOf(db, input.streamerId);
    if (!open) throw err;
    return { ok: false, reason: 'stream_already_open', stream: open };
  }
}

function insertStreamIfNoneOpen(db: Db, input: { streamerId: number; title: string; description: string; now: number }): Promise<CreateStreamResult> {
  return db.transaction().execute(async (trx) => {
    const open = await findOpenStreamOf(trx, input.streamerId);
    if (open) return { ok: false, reason: 'stream_already_open', stream: open } as const;
    const stream = await trx
      .insertInto('live_streams')
      .values({
        streamer_id: input.streamerId,
        title: input.title,
        description: input.description,
        created_at: input.now,
        last_activity_at: input.now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { ok: true, stream } as const;
  });
}

export async function findOpenStreamOf(db: Db, streamerId: number): Promise<LiveStream | undefined> {
  return db
    .selectFrom('live_streams')
    .selectAll()
    .where('streamer_id', '=', streamerId)
    .where('status', '!=', 'ended')
    .executeTakeFirst();
}

export async function getStream(db: Db, id: number): Promise<LiveStream | undefined> {
  return db.selectFrom('live_streams').selectAll().where('id', '=', id).executeTakeFirst();
}

export type StreamWithStreamer = LiveStream & { streamer_username: string };

export async function getStreamWithStreamer(db: Db, id: number): Promise<StreamWithStreamer | undefined> {
  return db
    .selectFrom('live_streams')
    .innerJoin('users', 'users.id', 'live_streams.streamer_id')
    .selectAll('live_streams')
    .select('users.username as streamer_username')
    .where('live_streams.id', '=', id)
    .executeTakeFirst();
}

export async function listStreamsByStatus(db: Db, statuses: readonly StreamStatus[]): Promise<StreamWithStreamer[]> {
  return db
    .selectFrom('live_streams')
    .innerJoin('users', 'users.id', 'live_streams.streamer_id')
    .selectAll('live_streams')
    .select('users.username as streamer_username')
    .where('live_streams.status', 'in', [...statuses])
    .orderBy('live_streams.viewers_count', 'desc')
    .orderBy('live_streams.id', 'asc')
    .execute();
}

export type TransitionResult =
  | { ok: true; stream: LiveStream; from: StreamStatus }
  | { ok: false; reason: 'stream_not_found' }
  | { ok: false; reason: 'invalid_transition'; current: StreamStatus };

/**
 * Moves a stream to `to` if the state machine allows it from its current state.
 * The check and the write are one statement, so two racing callers cannot both win.
 */
export async function transitionStream(
  db: Db,
  id: number,
  to: StreamStatus,
  opts: { now: number; reason?: string },
): Promise<TransitionResult> {
  return db.transaction().execute(async (trx) => {
    const current = await getStream(trx, id);
    if (!current) return { ok: false, reason: 'stream_not_found' } as const;
    if (!canTransition(current.status, to)) return { ok: false, reason: 'invalid_transition', current: current.status } as const;
    const { now } = opts;
    let update = trx.updateTable('live_streams').where('id', '=', id).where('status', '=', current.status);
    if (to === 'live') {
      update = update.set({ status: 'live', started_at: now, viewers_changed_at: now, last_activity_at: now });
    } else {
      // Close the viewer-time integral at the end instant; counts freeze from here.
      update = update.set({
        status: 'ended',
        ended_at: now,
        end_reason: opts.reason ?? 'ended',
        viewer_ms: viewerMsUntil(now),
        viewers_count: 0,
        viewers_changed_at: now,
      });
    }
    const stream = await update.returningAll().executeTakeFirst();
    if (!stream) return { ok: false, reason: 'invalid_transition', current: current.status } as const;
    return { ok: true, stream, from: current.status } as const;
  });
}

/**
 * Records the current viewer count: folds the previous count into the
 * time-weighted integral, raises the peak, and remembers when someone watched.
 * Ignored once the stream has ended (its figures are frozen).
 */
export async function recordViewerCount(db: Db, id: number, viewers: number, now: number): Promise<void> {
  await db
    .updateTable('live_streams')
    .set({
      viewer_ms: viewerMsUntil(now),
      viewers_count: viewers,
      // Portable max(peak_viewers, viewers).
      peak_viewers: sql<number>`case when peak_viewers > ${viewers} then peak_viewers else ${viewers} end`,
      viewers_changed_at: sql<number>`case when status = 'live' then ${now} else viewers_changed_at end`,
      // Someone watched until now if anyone is watching now or was until this change.
      last_viewer_at: sql<number | null>`case when ${viewers} > 0 then ${now} else last_viewer_at end`,
      last_activity_at: now,
    })
    .where('id', '=', id)
    .where('status', '!=', 'ended')
    .execute();
}

/** Counts a batch of viewers once per stream, in one transaction; returns how many were new. */
export async function addUniqueViewers(db: Db, streamId: number, viewerKeys: readonly string[], now: number): Promise<number> {
  if (viewerKeys.length === 0) return 0;
  return db.transaction().execute(async (trx) => {
    let added = 0;
    for (const viewerKey of viewerKeys) {
      const res = await trx
        .insertInto('stream_viewers')
        .values({ stream_id: streamId, viewer_key: viewerKey, first_seen_at: now })
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst();
      if ((res.numInsertedOrUpdatedRows ?? 0n) > 0n) added++;
    }
    if (added > 0) {
      await trx
        .updateTable('live_streams')
        .set({ unique_viewers: sql<number>`unique_viewers + ${added}` })
        .where('id', '=', streamId)
        .where('status', '!=', 'ended')
        .execute();
    }
    return added;
  });
}

export async function insertViewerSample(db: Db, streamId: number, at: number, viewers: number): Promise<void> {
  await db
    .insertInto('viewer_samples')
    .values({ stream_id: streamId, at, viewers })
    .onConflict((oc) => oc.columns(['stream_id', 'at']).doUpdateSet({ viewers }))
    .execute();
}

export async function listViewerSamples(db: Db, streamId: number): Promise<{ at: number; viewers: number }[]> {
  return db.selectFrom('viewer_samples').select(['at', 'viewers']).where('stream_id', '=', streamId).orderBy('at').execute();
}

export interface StreamStats {
  status: StreamStatus;
  viewers: number;
  peakViewers: number;
  durationMs: number;
  commentsCount: number;
  uniqueViewers: number;
  /** Time-weighted over the live period: ∫viewers dt ÷ live duration. */
  averageViewers: number;
  startedAt: number | null;
  endedAt: number | null;
}

/** Stats as of `now` while live, or frozen at the end instant once ended. */
export function computeStreamStats(stream: LiveStream, now: number): StreamStats {
  const end = stream.status === 'ended' ? (stream.ended_at ?? now) : now;
  const durationMs = stream.started_at === null ? 0 : Math.max(0, end - stream.started_at);
  let viewerMs = stream.viewer_ms;
  if (stream.status === 'live' && stream.viewers_changed_at !== null) {
    viewerMs += stream.viewers_count * Math.max(0, now - stream.viewers_changed_at);
  }
  return {
    status: stream.status,
    viewers: stream.status === 'ended' ? 0 : stream.viewers_count,
    peakViewers: stream.peak_viewers,
    durationMs,
    commentsCount: stream.comments_count,
    uniqueViewers: stream.unique_viewers,
    averageViewers: durationMs > 0 ? viewerMs / durationMs : 0,
    startedAt: stream.started_at,
    endedAt: stream.ended_at,
  };
}

// ── Lifecycle: the sweeper, crash recovery and the operator CLI ─────────────

/** Every stream that is not ended, oldest first, with its streamer's name. */
export async function listOpenStreams(db: Db): Promise<StreamWithStreamer[]> {
  return db
    .selectFrom('live_streams')
    .innerJoin('users', 'users.id', 'live_streams.streamer_id')
    .selectAll('live_streams')
    .select('users.username as streamer_username')
    .where('live_streams.status', '!=', 'ended')
    .orderBy('live_streams.id', 'asc')
    .execute();
}

export type StreamStatusRow = Pick<LiveStream, 'id' | 'status' | 'ended_at' | 'end_reason' | 'comments_count'>;

/** Status of the given streams, for checking open rooms against the database; missing ids are streams that are gone. */
export async function getStreamStatuses(db: Db, ids: readonly number[]): Promise<StreamStatusRow[]> {
  if (ids.length === 0) return [];
  return db.selectFrom('live_streams').select(['id', 'status', 'ended_at', 'end_reason', 'comments_count']).where('id', 'in', [...ids]).execute();
}

/** Records that the streamer's socket is connected now (the waiting rule's input). Ignored once ended. */
export async function markStreamerSeen(db: Db, id: number, now: number): Promise<void> {
  await db.updateTable('live_streams').set({ streamer_seen_at: now }).where('id', '=', id).where('status', '!=', 'ended').execute();
}

/**
 * Records that someone is watching now (the idle rule's input), while a steady
 * audience changes no count and so writes nothing else. Ignored once ended.
 */
export async function markViewersSeen(db: Db, id: number, now: number): Promise<void> {
  await db.updateTable('live_streams').set({ last_viewer_at: now }).where('id', '=', id).where('status', '!=', 'ended').execute();
}

/**
 * The last moment the stream is known to have been alive: its start, its last
 * recorded activity, or its last viewer sample (taken every few seconds while a
 * server carries it). After a crash this is when the stream really stopped.
 */
export async function lastSignOfLife(db: Db, id: number): Promise<number | undefined> {
  const stream = await getStream(db, id);
  if (!stream) return undefined;
  const sample = await db
    .selectFrom('viewer_samples')
    .select((eb) => eb.fn.max('at').as('at'))
    .where('stream_id', '=', id)
    .executeTakeFirst();
  return Math.max(stream.created_at, stream.started_at ?? 0, stream.last_activity_at, stream.streamer_seen_at ?? 0, Number(sample?.at ?? 0));
}

/** The streamer edits the title or description of a stream that is not ended; undefined if there is none. */
export async function updateStreamDetails(db: Db, id: number, details: { title?: string; description?: string }): Promise<LiveStream | undefined> {
  const set: { title?: string; description?: string } = {};
  if (details.title !== undefined) set.title = details.title;
  if (details.description !== undefined) set.description = details.description;
  if (Object.keys(set).length === 0) return getStream(db, id);
  return db.updateTable('live_streams').set(set).where('id', '=', id).where('status', '!=', 'ended').returningAll().executeTakeFirst();
}
