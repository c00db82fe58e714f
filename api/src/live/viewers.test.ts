import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { transitionStream } from '@redred/db';
import { bounded } from '../testing/process.ts';
import { TestWsClient } from '../testing/ws-client.ts';
import { api, closeSeenByServer, registerUser, startTestServer, type TestServer } from '../testing/server.ts';
import { VIEWERS_UPDATE_INTERVAL_MS } from './presence.ts';

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

async function liveStream(s: TestServer): Promise<{ id: number; token: string }> {
  const streamer = await registerUser(s.url, `streamer_${Math.random().toString(36).slice(2, 8)}`);
  const id = (await api(s.url, 'POST', '/api/live/create/', { token: streamer.token, body: { title: 'count me' } })).body.stream.id as number;
  // Counting is the subject here, not media: the state goes live through the state machine.
  await transitionStream(s.app.db, id, 'live', { now: Date.now() });
  return { id, token: streamer.token };
}

const settle = async (c: TestWsClient, viewers: number) => c.waitFor('viewers_update', (m) => m.viewers === viewers, 5000);

describe('viewer counting', () => {
  it('counts people, not sockets: 2 tabs of one account are 1; 3 anonymous + 2 accounts are 5; the streamer is 0', async () => {
    srv = await startTestServer();
    const s = await liveStream(srv);
    const streamer = await TestWsClient.connect(srv.wsUrl(s.id), { token: s.token });
    const ana = await registerUser(srv.url, 'ana');
    const ben = await registerUser(srv.url, 'ben');
    const tab1 = await TestWsClient.connect(srv.wsUrl(s.id), { token: ana.token });
    const tab2 = await TestWsClient.connect(srv.wsUrl(s.id), { token: ana.token });
    await settle(streamer, 1);
    // The second tab is in the room once it is welcomed, and still one person.
    await tab2.waitFor('connection_established');
    expect(srv.app.rooms.get(s.id)!.viewers.count).toBe(1);
    const others = [
      await TestWsClient.connect(srv.wsUrl(s.id)),
      await TestWsClient.connect(srv.wsUrl(s.id)),
      await TestWsClient.connect(srv.wsUrl(s.id)),
      await TestWsClient.connect(srv.wsUrl(s.id), { token: ben.token }),
    ];
    await settle(streamer, 5);
    await closeSeenByServer(srv, tab2);
    expect(srv.app.rooms.get(s.id)!.viewers.count).toBe(5);
    await tab1.close();
    await settle(streamer, 4);
    // The streamer (and moderators) learn who joined, batched, with role badges.
    const joined = streamer.of('user_joined').flatMap((m) => m.users.map((u) => `${u.username}:${u.role}`));
    expect(joined.sort()).toEqual(['ana:viewer', 'ben:viewer']);
    expect(streamer.of('user_joined').reduce((n, m) => n + m.anonymous, 0)).toBe(3);
    // Viewers do not get presence events.
    expect(others[0]!.of('user_joined')).toEqual([]);
    const list = await streamer.request({ type: 'list_viewers', search: 'BE' });
    expect(list).toMatchObject({ type: 'viewer_list', total: 1, anonymous: 3, viewers: [{ username: 'ben', role: 'viewer' }] });
    expect(await others[0]!.request({ type: 'list_viewers' })).toMatchObject({ type: 'error', error: { code: 'forbidden' } });
  });

  it('drops a socket that stops answering pings within two heartbeat periods, and the peak stays', async () => {
    srv = await startTestServer({ heartbeatMs: 1000 });
    const s = await liveStream(srv);
    const streamer = await TestWsClient.connect(srv.wsUrl(s.id), { token: s.token });
    const healthy = await TestWsClient.connect(srv.wsUrl(s.id));
    // Heartbeat periods, counted in the server's own pings to a socket that answers them.
    let periods = 0;
    healthy.ws.on('ping', () => periods++);
    // A peer that vanished: TCP stays open, nothing answers pings, no close frame ever comes.
    const ghost = new TestWsClient(new WebSocket(srv.wsUrl(s.id), { autoPong: false }));
    let ghostPings = 0;
    ghost.ws.on('ping', () => ghostPings++);
    await ghost.opened;
    periods = 0;
    // Bounded far beyond the window, so the count below, not this wait, decides.
    const closeCode = await bounded(ghost.closedPromise, 30_000, 'the silent socket was never dropped');
    const periodsToDrop = periods;
    expect(ghostPings, 'the silent socket was pinged before it was dropped').toBeGreaterThanOrEqual(1);
    expect(closeCode, 'dropped without a close frame').toBe(1006);
    expect(periodsToDrop).toBeLessThanOrEqual(2);
    await streamer.waitFor('viewers_update', (m) => m.viewers === 1 && m.peakViewers === 2);
    const stats = await api(srv.url, 'GET', `/api/live/${s.id}/stats`);
    expect(stats.body.stats).toMatchObject({ viewers: 1, peakViewers: 2, uniqueViewers: 2 });
    await healthy.close();
  });

  it('coalesces viewers_update in a join storm of 300 sockets: at most one per interval, never one per join', async () => {
    srv = await startTestServer();
    const s = await liveStream(srv);
    const sockets: TestWsClient[] = [];
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 300 }, async () => {
        sockets.push(await TestWsClient.connect(srv!.wsUrl(s.id)));
      }),
    );
    await Promise.all(sockets.map((c) => settle(c, 300)));
    // Every update any socket got was sent within this span, whatever the machine's speed.
    const intervals = Math.floor((performance.now() - started) / VIEWERS_UPDATE_INTERVAL_MS);
    for (const c of sockets) {
      // The welcome update, then at most one broadcast per interval begun.
      expect(c.of('viewers_update').length).toBeLessThanOrEqual(intervals + 2);
      expect(c.of('viewers_update').at(-1)!.viewers).toBe(300);
    }
    await Promise.all(sockets.map((c) => c.close()));
  });
});

describe('statistics', () => {
  it('freezes the figures at the end and keeps them across a restart', async () => {
    let clock = 1_000_000;
    srv = await startTestServer({}, { now: () => clock });
    const streamer = await registerUser(srv.url, 'stats_streamer');
    const id = (await api(srv.url, 'POST', '/api/live/create/', { token: streamer.token, body: { title: 'stats' } })).body.stream.id as number;
    await transitionStream(srv.app.db, id, 'live', { now: clock });
    const sc = await TestWsClient.connect(srv.wsUrl(id), { token: streamer.token });
    await sc.waitFor('connection_established');
    // 0 viewers for 10 s, 2 viewers for 30 s, 1 viewer for 20 s → (0·10 + 2·30 + 1·20) / 60 = 1.333…
    clock += 10_000;
    const v1 = await TestWsClient.connect(srv.wsUrl(id));
    const v2 = await TestWsClient.connect(srv.wsUrl(id));
    await settle(sc, 2);
    await srv.app.rooms.get(id)!.flushPresence();
    clock += 30_000;
    await v2.close();
    await settle(sc, 1);
    await srv.app.rooms.get(id)!.flushPresence();
    clock += 20_000;
    expect(await sc.request({ type: 'end_stream' })).toMatchObject({ type: 'ack' });
    await v1.closedPromise;
    const frozen = (await api(srv.url, 'GET', `/api/live/${id}/stats`)).body.stats;
    expect(frozen).toMatchObject({ status: 'ended', viewers: 0, peakViewers: 2, durationMs: 60_000, uniqueViewers: 2 });
    expect(frozen.averageViewers).toBeCloseTo(80 / 60, 6);

    const dataDir = srv.dataDir;
    await srv.close({ keepData: true });
    clock += 3_600_000;
    srv = await startTestServer({}, { now: () => clock, dataDir });
    const after = (await api(srv.url, 'GET', `/api/live/${id}/stats`)).body.stats;
    expect(after).toEqual(frozen);
  });

  it('lists live streams for the home page', async () => {
    srv = await startTestServer();
    const s = await liveStream(srv);
    const list = await api(srv.url, 'GET', '/api/live/');
    expect(list.body.streams.map((x: { id: number }) => x.id)).toEqual([s.id]);
    expect((await api(srv.url, 'GET', '/api/live/424242')).body.error.code).toBe('stream_not_found');
    // The streamer finds their open stream from any device; others have none.
    expect((await api(srv.url, 'GET', '/api/live/mine', { token: s.token })).body.stream.id).toBe(s.id);
    const other = await registerUser(srv.url, 'no_stream_yet');
    expect((await api(srv.url, 'GET', '/api/live/mine', { token: other.token })).body.error.code).toBe('stream_not_found');
    expect((await api(srv.url, 'GET', '/api/live/mine')).status).toBe(401);
  });
});
