import type { Db } from './database.ts';
import type { Recording, RecordingStatus } from './schema.ts';

export type RecordingWithChannel = Recording & { channel_username: string; stream_title: string };

/** Whether the stream is to be recorded (the streamer's choice when creating or editing it). */
export async function setStreamRecord(db: Db, streamId: number, record: boolean): Promise<void> {
  await db.updateTable('live_streams').set({ record: record ? 1 : 0 }).where('id', '=', streamId).execute();
}

export async function channelRecordsByDefault(db: Db, channelId: number): Promise<boolean> {
  const row = await db.selectFrom('recording_settings').select('record_by_default').where('channel_id', '=', channelId).executeTakeFirst();
  return row?.record_by_default === 1;
}

export async function setChannelRecordDefault(db: Db, channelId: number, record: boolean, now: number): Promise<void> {
  await db
    .insertInto('recording_settings')
    .values({ channel_id: channelId, record_by_default: record ? 1 : 0, updated_at: now })
    .onConflict((oc) => oc.column('channel_id').doUpdateSet({ record_by_default: record ? 1 : 0, updated_at: now }))
    .execute();
}

/** The stream's recording, created on its first recorder run (one per stream). */
export async function openRecording(
  db: Db,
  input: { streamId: number; channelId: number; container: string; now: number },
): Promise<Recording> {
  await db
    .insertInto('recordings')
    .values({ stream_id: input.streamId, channel_id: input.channelId, status: 'recording', container: input.container, started_at: input.now })
    .onConflict((oc) => oc.column('stream_id').doNothing())
    .execute();
  const row = await db.selectFrom('recordings').selectAll().where('stream_id', '=', input.streamId).executeTakeFirstOrThrow();
  return row;
}

export async function getRecording(db: Db, id: number): Promise<RecordingWithChannel | undefined> {
  return db
    .selectFrom('recordings')
    .innerJoin('users', 'users.id', 'recordings.channel_id')
    .innerJoin('live_streams', 'live_streams.id', 'recordings.stream_id')
    .selectAll('recordings')
    .select(['users.username as channel_username', 'live_streams.title as stream_title'])
    .where('recordings.id', '=', id)
    .executeTakeFirst();
}

export async function recordingOfStream(db: Db, streamId: number): Promise<Recording | undefined> {
  return db.selectFrom('recordings').selectAll().where('stream_id', '=', streamId).executeTakeFirst();
}

/** A channel's recordings, newest first; private ones only when `includePrivate`. */
export async function listChannelRecordings(db: Db, channelId: number, includePrivate: boolean): Promise<RecordingWithChannel[]> {
  let q = db
    .selectFrom('recordings')
    .innerJoin('users', 'users.id', 'recordings.channel_id')
    .innerJoin('live_streams', 'live_streams.id', 'recordings.stream_id')
    .selectAll('recordings')
    .select(['users.username as channel_username', 'live_streams.title as stream_title'])
    .where('recordings.channel_id', '=', channelId);
  if (!includePrivate) q = q.where('recordings.private', '=', 0);
  return q.orderBy('recordings.started_at', 'desc').orderBy('recordings.id', 'desc').execute();
}

/** Every recording, oldest first: the order retention and the quota delete in. */
export async function listRecordingsOldestFirst(db: Db): Promise<RecordingWithChannel[]> {
  return db
    .selectFrom('recordings')
    .innerJoin('users', 'users.id', 'recordings.channel_id')
    .innerJoin('live_streams', 'live_streams.id', 'recordings.stream_id')
    .selectAll('recordings')
    .select(['users.username as channel_username', 'live_streams.title as stream_title'])
    .orderBy('recordings.started_at', 'asc')
    .orderBy('recordings.id', 'asc')
    .execute();
}

export async function listRecordingsByStatus(db: Db, statuses: RecordingStatus[]): Promise<Recording[]> {
  return db.selectFrom('recordings').selectAll().where('status', 'in', statuses).orderBy('id').execute();
}

export async function updateRecording(
  db: Db,
  id: number,
  patch: Partial<Pick<Recording, 'status' | 'container' | 'ended_at' | 'duration_ms' | 'size_bytes' | 'segments' | 'stop_reason' | 'private' | 'timeline'>>,
): Promise<void> {
  await db.updateTable('recordings').set(patch).where('id', '=', id).execute();
}

export async function deleteRecording(db: Db, id: number): Promise<boolean> {
  const res = await db.deleteFrom('recordings').where('id', '=', id).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

/** Count and bytes of recordings per status (metrics); bytes are the finished files' sizes. */
export async function recordingTotals(db: Db): Promise<{ status: RecordingStatus; count: number; bytes: number }[]> {
  const rows = await db
    .selectFrom('recordings')
    .select((eb) => ['status', eb.fn.countAll<number>().as('count'), eb.fn.sum<number>('size_bytes').as('bytes')])
    .groupBy('status')
    .orderBy('status')
    .execute();
  return rows.map((r) => ({ status: r.status, count: Number(r.count), bytes: Number(r.bytes ?? 0) }));
}
