import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getStream, transitionStream } from '@redred/db';
import { defaultConfig } from '../config.ts';
import { CLOSE_CODES } from '../protocol/constants.ts';
import { goLive } from '../testing/publish.ts';
import { api, closeSeenByServer, registerUser, startTestServer, type TestServer } from '../testing/server.ts';
import { TestWsClient } from '../testing/ws-client.ts';
import { StreamSweeper, type SweepAction } from './sweeper.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = 1_800_000_000_000;

let t = T0;
let srv: TestServer;
const clients: TestWsClient[] = [];
let nextUser = 0;

beforeEach(async () => {
  t = T0;
  // Only the test sweeps: the timers are far away, the rules are the defaults (4 h, 30 min, 30 min).
  const sweeper = { ...defaultConfig().sweeper, intervalMs: 10 * HOUR, roomSyncIntervalMs: 60_000 };
  srv = await startTestServer({ sweeper }, { now: () => t });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await srv.close();
});

interface Streamer {
  id: number;
  token: string;
  stream: number;
}

/** A streamer account with a stream created now (waiting). */
async function newStream(): Promise<Streamer> {
  const user = await registerUser(srv.url, `streamer${++nextUser}`);
  const res = await api(srv.url, 'POST', '/api/live/create/', { token: user.token, body: { title: `stream of ${user.username}` } });
  expect(res.status).toBe(201);
  return { id: user.id, token: user.token, stream: res.body.stream.id };
}

async function connect(streamId: number, token?: string): Promise<TestWsClient> {
  const c = await TestWsClient.connect(srv.wsUrl(streamId), token ? { token } : {});
  clients.push(c);
  await c.waitFor('connection_established');
  return c;
}

/** A stream that went live now through its streamer's camera producer; the streamer stays connected. */
async function liveStream(): Promise<Streamer & { streamer: TestWsClient }> {
  const s = await newStream();
  const streamer = await connect(s.stream, s.token);
  await goLive(streamer);
  return { ...s, streamer };
}

/** An anonymous viewer: the room counts it before it welcomes it, so it is counted when this resolves. */
async function watch(streamId: number): Promise<TestWsClient> {
  return connect(streamId);
}

/** Resolves once the server has handled the close, so the room no longer counts the socket. */
async function leave(c: TestWsClient): Promise<void> {
  await closeSeenByServer(srv, c);
}

async function statusOf(streamId: number): Promise<string | undefined> {
  return (await getStream(srv.app.db, streamId))?.status;
}

function ended(actions: SweepAction[]): { streamId: number; reason: string }[] {
  return actions.filter((a) => a.action === 'ended').map((a) => ({ streamId: a.streamId, reason: a.reason }));
}

describe('the sweeper, with a controlled clock', () => {
  it('ends exactly the streams live for longer than maxLiveMs, viewers or not, and tells their viewers', async () => {
    const old = await liveStream();
    const oldViewer = await watch(old.stream);
    t = T0 + HOUR;
    const younger = await liveStream();
    await watch(younger.stream);
    const waiting = await newStream();
    await connect(waiting.stream, waiting.token);

    t = T0 + 4 * HOUR;
    expect(ended(await srv.app.sweeper.sweepOnce())).toEqual([]);

    t = T0 + 4 * HOUR + 1;
    expect(ended(await srv.app.sweeper.sweepOnce())).toEqual([{ streamId: old.stream, reason: 'max_duration' }]);
    expect(await oldViewer.waitFor('stream_ended')).toEqual({ type: 'stream_ended', reason: 'max_duration', endedAt: t });
    expect(await oldViewer.closedPromise).toBe(CLOSE_CODES.streamEnded);
    expect(await getStream(srv.app.db, old.stream)).toMatchObject({ status: 'ended', end_reason: 'max_duration', ended_at: t, viewers_count: 0 });
    expect(await statusOf(younger.stream)).toBe('live');
    expect(await statusOf(waiting.stream)).toBe('waiting');
    expect(srv.app.rooms.get(old.stream)).toBeUndefined();

    t = T0 + 5 * HOUR + 1;
    expect(ended(await srv.app.sweeper.sweepOnce())).toEqual([{ streamId: younger.stream, reason: 'max_duration' }]);
  });

  it('warns the streamer once, 10 minutes before maxLiveMs, and no viewer', async () => {
    const s = await liveStream();
    const viewer = await watch(s.stream);
    const startedAt = T0;
    for (const at of [4 * HOUR - 10 * MIN - 1, 4 * HOUR - 10 * MIN, 4 * HOUR - 5 * MIN]) {
      t = T0 + at;
      expect(ended(await srv.app.sweeper.sweepOnce())).toEqual([]);
    }
    expect(await s.streamer.waitFor('stream_ending_soon')).toEqual({ type: 'stream_ending_soon', reason: 'max_duration', endsAt: startedAt + 4 * HOUR });
    // Frames arrive in order: once the streamer's comment is back, every warning sent before it has arrived too.
    expect((await s.streamer.request({ type: 'comment', content: 'sync' })).type).toBe('comment_ack');
    await viewer.waitFor('comment', (m) => m.comment.content === 'sync');
    expect(s.streamer.messages.filter((m) => m.type === 'stream_ending_soon')).toHaveLength(1);
    expect(viewer.messages.filter((m) => m.type === 'stream_ending_soon')).toEqual([]);
  });

  it('ends exactly the live streams nobody watched for longer than idleNoViewersMs, counted from the last viewer', async () => {
    const neverWatched = await liveStream();
    const watched = await liveStream();
    await watch(watched.stream);
    const abandoned = await liveStream();
    const leaver = await watch(abandoned.stream);
    t = T0 + 10 * MIN;
    const later = await liveStream();

    t = T0 + 20 * MIN;
    expect(ended(await srv.app.sweeper.sweepOnce())).toEqual([]);
    await leave(leaver);

    t = T0 + 30 * MIN;
    expect(ended(await srv.app.sweeper.sweepOnce())).toEqual([]);
    t = T0 + 30 * MIN + 1;
    expect(ended(await srv.app.sweeper.sweepOnce())).toEqual([{ streamId: neverWatched.stream, reason: 'idle_no_viewers' }]);
    expect(await neverWatched.streamer.waitFor('stream_ended')).toMatchObject({ reason: 'idle_no_viewers' });
    t = T0 + 40 * MIN + 1;
    expect(ended(await srv.app.sweeper.sweepOnce())).toEqual([{ streamId: later.stream, reason: 'idle_no_viewers' }]);
    t = T0 + 50 * MIN;
    expect(ended(await srv.app.sweeper.sweepOnce())).toEqual([]);
    t = T0 + 50 * MIN + 1;
    expect(ended(await srv.app.sweeper.sweepOnce())).toEqual([{ streamId: abandoned.stream, reason: 'idle_no_viewers' }]);

    expect(await statusOf(watched.stream)).toBe('live');
  });

  it('never ends a stream with viewers for idleness, even when its stored viewer time is stale', async () => {
    const s = await liveStream();
    await watch(s.stream);
    const stale = () => srv.app.db.updateTable('live_streams').set({ last_viewer_at: T0 - 10 * HOUR }).where('id', '=', s.stream).execute();
    for (const at of [T0 + 31 * MIN, T0 + 2 * HOUR, T0 + 3 * HOUR + 50 * MIN]) {
      t = at;
      expect(ended(await srv.app.sweeper.sweepOnce())).toEqual([]);
      // The presence write kept the stored view in step (so the CLI agrees)...
      expect((await getStream(srv.app.db, s.stream))?.last_viewer_at).toBe(at);
      // ...but between two writes the database may lag: the room's live count decides.
      await stale();
      t = at + 10_000;
      expect(ended(await srv.app.sweeper.sweepOnce())).toEqual([]);
      expect(await statusOf(s.stream)).toBe('live');
    }
  });

  it('ends exactly the waiting streams whose streamer did not connect in time, or left and stayed away', async () => {
    const never = await newStream();
    const present = await newStream();
    await connect(present.stream, present.token);
    const left = await newStream();
    const live = await liveStream();
    await watch(live.stream);
    t = T0 + 10 * MIN;
    const lateCreated = await newStream();
    t = T0 + 20 * MIN;
    const leftSocket = await connect(left.stream, left.token);
    expect(ended(await srv.app.sweeper.sweepOnce())).toEqual([]);
    await leave(leftSocket);
    expect(srv.app.rooms.get(left.stream)?.streamer()).toBeUndefined();

    t = T0 + 30 * MIN + 1;
    expect(ended(await srv.app.sweeper.sweepOnce())).toEqual([{ streamId: never.stream, reason: 'streamer_never_connected' }]);
    t = T0 + 40 * MIN + 1;
    expect(ended(await srv.app.sweeper.sweepOnce())).toEqual([{ streamId: lateCreated.stream, reason: 'streamer_never_connected' }]);
    t = T0 + 50 * MIN + 1;
    expect(ended(await srv.app.sweeper.sweepOnce())).toEqual([{ streamId: left.stream, reason: 'streamer_left' }]);

    t = T0 + 3 * HOUR;
    expect(ended(await srv.app.sweeper.sweepOnce())).toEqual([]);
    expect(await statusOf(present.stream)).toBe('waiting');
    expect(await statusOf(live.stream)).toBe('live');
  });

  it('closes the room of a stream ended in the database by someone else, telling viewers its end reason', async () => {
    const s = await liveStream();
    const viewer = await watch(s.stream);
    const other = await liveStream();
    const otherViewer = await watch(other.stream);
    // What `redred streams force-cleanup` does from another process.
    t = T0 + 5 * MIN;
    expect((await transitionStream(srv.app.db, s.stream, 'ended', { now: t, reason: 'force_cleanup' })).ok).toBe(true);
    t = T0 + 6 * MIN;

    expect(await srv.app.sweeper.syncRooms()).toEqual([{ action: 'room_closed', streamId: s.stream, reason: 'force_cleanup' }]);
    expect(await viewer.waitFor('stream_ended')).toEqual({ type: 'stream_ended', reason: 'force_cleanup', endedAt: T0 + 5 * MIN });
    expect(await s.streamer.waitFor('stream_ended')).toMatchObject({ reason: 'force_cleanup' });
    expect(await viewer.closedPromise).toBe(CLOSE_CODES.streamEnded);
    expect(srv.app.rooms.get(s.stream)).toBeUndefined();
    expect(otherViewer.of('stream_ended')).toEqual([]);
    expect(srv.app.rooms.get(other.stream)?.closed).toBe(false);
  });

  it('closes the room, sockets and router of a stream whose row is gone', async () => {
    const s = await newStream();
    const viewer = await watch(s.stream);
    const room = srv.app.rooms.get(s.stream)!;
    await srv.app.db.deleteFrom('live_streams').where('id', '=', s.stream).execute();

    expect(await srv.app.sweeper.syncRooms()).toEqual([{ action: 'room_closed', streamId: s.stream, reason: 'stream_gone' }]);
    expect(await viewer.waitFor('stream_ended')).toMatchObject({ reason: 'stream_gone' });
    expect(await viewer.closedPromise).toBe(CLOSE_CODES.streamEnded);
    expect(room.closed).toBe(true);
    expect(room.media.closed).toBe(true);
  });

  it('logs every action with its rule and reason', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const sweeper = new StreamSweeper({ ctx: srv.app.liveContext, rooms: srv.app.rooms, rules: srv.config.sweeper, log: pino({ base: null }, sink) });
    const idle = await liveStream();
    const gone = await newStream();
    await watch(gone.stream);
    await transitionStream(srv.app.db, gone.stream, 'ended', { now: t, reason: 'force_cleanup' });

    t = T0 + 31 * MIN;
    await sweeper.sweepOnce();
    await sweeper.stop();
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ streamId: gone.stream, reason: 'force_cleanup', msg: 'closed the room of a stream ended elsewhere' }),
        expect.objectContaining({ streamId: idle.stream, rule: 'idle_no_viewers', reason: 'idle_no_viewers', detail: 'no viewers for 31m (max 30m)', msg: 'sweeper ended stream' }),
      ]),
    );
  });
});
