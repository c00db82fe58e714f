import { afterEach, beforeEach, expect, it } from 'vitest';
import {
  channelRecordsByDefault,
  deleteRecording,
  getRecording,
  listChannelRecordings,
  listRecordingsByStatus,
  listRecordingsOldestFirst,
  openRecording,
  recordingOfStream,
  recordingTotals,
  setChannelRecordDefault,
  setStreamRecord,
  updateRecording,
} from './recordings.ts';
import { createStream, getStream, transitionStream } from './streams.ts';
import { describeEachDialect, type TempDatabase } from './testing/dialects.ts';
import { createUser } from './users.ts';

describeEachDialect('recordings', (fx) => {
  let ctx: TempDatabase & { ana: number; bo: number };

  beforeEach(async () => {
    const h = await fx.openDatabase();
    const ana = await createUser(h.db, { username: 'Ana', passwordHash: 'x', now: 0 });
    const bo = await createUser(h.db, { username: 'Bo', passwordHash: 'x', now: 0 });
    if (!ana.ok || !bo.ok) throw new Error('users');
    ctx = Object.assign(h, { ana: ana.user.id, bo: bo.user.id });
  });
  afterEach(() => ctx.dispose());

  async function endedStream(streamerId: number, at: number): Promise<number> {
    const s = await createStream(ctx.db, { streamerId, title: `at ${at}`, description: '', now: at });
    if (!s.ok) throw new Error('stream');
    await transitionStream(ctx.db, s.stream.id, 'live', { now: at });
    await transitionStream(ctx.db, s.stream.id, 'ended', { now: at + 10, reason: 'streamer_ended' });
    return s.stream.id;
  }

  it('the channel default and the per-stream choice', async () => {
    expect(await channelRecordsByDefault(ctx.db, ctx.ana)).toBe(false);
    await setChannelRecordDefault(ctx.db, ctx.ana, true, 1);
    expect(await channelRecordsByDefault(ctx.db, ctx.ana)).toBe(true);
    await setChannelRecordDefault(ctx.db, ctx.ana, false, 2);
    expect(await channelRecordsByDefault(ctx.db, ctx.ana)).toBe(false);
    expect(await channelRecordsByDefault(ctx.db, ctx.bo)).toBe(false);
    const id = await endedStream(ctx.ana, 100);
    await setStreamRecord(ctx.db, id, true);
    expect((await getStream(ctx.db, id))?.record).toBe(1);
  });

  it('one recording per stream: opening twice returns the same row', async () => {
    const stream = await endedStream(ctx.ana, 100);
    const a = await openRecording(ctx.db, { streamId: stream, channelId: ctx.ana, container: 'webm', now: 100 });
    const b = await openRecording(ctx.db, { streamId: stream, channelId: ctx.ana, container: 'mp4', now: 200 });
    expect(b).toEqual(a);
    expect(a).toMatchObject({ status: 'recording', container: 'webm', started_at: 100, private: 0, size_bytes: 0 });
    expect(await recordingOfStream(ctx.db, stream)).toEqual(a);
    expect(await getRecording(ctx.db, a.id)).toMatchObject({ id: a.id, channel_username: 'Ana', stream_title: 'at 100' });
  });

  it('keeps the timeline set at finalise (JSON text, null until then)', async () => {
    const rec = await openRecording(ctx.db, { streamId: await endedStream(ctx.ana, 100), channelId: ctx.ana, container: 'webm', now: 100 });
    expect(rec.timeline).toBeNull();
    // Wall-clock milliseconds do not fit in 32 bits: the text must keep them exactly.
    const timeline = JSON.stringify([{ wallMs: 1_764_000_000_123, mediaMs: 0, durationMs: 4003 }]);
    await updateRecording(ctx.db, rec.id, { status: 'ready', timeline });
    expect((await getRecording(ctx.db, rec.id))?.timeline).toBe(timeline);
  });

  it('lists: a channel newest first (private only for its streamer), all oldest first, by status; totals; delete', async () => {
    const ids: number[] = [];
    for (const at of [100, 300, 200]) {
      const stream = await endedStream(ctx.ana, at);
      ids.push((await openRecording(ctx.db, { streamId: stream, channelId: ctx.ana, container: 'webm', now: at })).id);
    }
    const [r100, r300, r200] = ids as [number, number, number];
    const other = (await openRecording(ctx.db, { streamId: await endedStream(ctx.bo, 50), channelId: ctx.bo, container: 'webm', now: 50 })).id;
    await updateRecording(ctx.db, r100, { status: 'ready', size_bytes: 1000, ended_at: 110 });
    await updateRecording(ctx.db, r200, { status: 'partial', size_bytes: 500, private: 1, stop_reason: 'server_crash' });
    expect((await listChannelRecordings(ctx.db, ctx.ana, true)).map((r) => r.id)).toEqual([r300, r200, r100]);
    expect((await listChannelRecordings(ctx.db, ctx.ana, false)).map((r) => r.id)).toEqual([r300, r100]);
    expect((await listRecordingsOldestFirst(ctx.db)).map((r) => r.id)).toEqual([other, r100, r200, r300]);
    expect((await listRecordingsByStatus(ctx.db, ['recording'])).map((r) => r.id).sort((a, b) => a - b)).toEqual([r300, other].sort((a, b) => a - b));
    expect(await recordingTotals(ctx.db)).toEqual([
      { status: 'partial', count: 1, bytes: 500 },
      { status: 'ready', count: 1, bytes: 1000 },
      { status: 'recording', count: 2, bytes: 0 },
    ]);
    expect(await deleteRecording(ctx.db, r100)).toBe(true);
    expect(await deleteRecording(ctx.db, r100)).toBe(false);
    expect(await getRecording(ctx.db, r100)).toBeUndefined();
  });
});
