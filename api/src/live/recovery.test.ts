import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getStream, listOpenStreams, openDatabase, type DatabaseHandle } from '@redred/db';
import { defaultConfig } from '../config.ts';
import { DB_FILE_NAME } from '../plugins/db.ts';
import { CLOSE_CODES } from '../protocol/constants.ts';
import { startServerProcess, type ServerProcess } from '../testing/process.ts';
import { goLive, publishCamera } from '../testing/publish.ts';
import { api, registerUser, startTestServer } from '../testing/server.ts';
import { TestWsClient } from '../testing/ws-client.ts';

let dataDir: string;
let db: DatabaseHandle | undefined;
const processes: ServerProcess[] = [];
const clients: TestWsClient[] = [];

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'redred-recovery-'));
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(processes.splice(0).map((p) => p.kill()));
  await db?.close();
  db = undefined;
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(env: Record<string, string>): Promise<ServerProcess> {
  const p = await startServerProcess({ DATA_DIR: dataDir, ...env });
  processes.push(p);
  return p;
}

async function connect(baseUrl: string, streamId: number, token?: string): Promise<TestWsClient> {
  const c = await TestWsClient.connect(`${baseUrl.replace(/^http/, 'ws')}/ws/live/${streamId}`, token ? { token } : {});
  clients.push(c);
  await c.waitFor('connection_established');
  return c;
}

async function createStream(baseUrl: string, token: string): Promise<number> {
  const res = await api(baseUrl, 'POST', '/api/live/create/', { token, body: { title: 'recovery' } });
  expect(res.status).toBe(201);
  return res.body.stream.id as number;
}

async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('crash recovery', () => {
  it('after a SIGKILL mid-stream, resumes the stream whose streamer republishes within the grace period and ends the other with server_restart', async () => {
    const GRACE = '5000';
    const first = await start({ RESTART_GRACE_MS: GRACE });
    const alice = await registerUser(first.url, 'alice');
    const bob = await registerUser(first.url, 'bob');
    const carol = await registerUser(first.url, 'carol');
    const resumed = await createStream(first.url, alice.token);
    const abandoned = await createStream(first.url, bob.token);
    const waiting = await createStream(first.url, carol.token);
    await goLive(await connect(first.url, resumed, alice.token));
    await goLive(await connect(first.url, abandoned, bob.token));
    await connect(first.url, resumed);
    await connect(first.url, abandoned);

    // The database is shared with the server, as the operator CLI shares it.
    const h = openDatabase({ file: join(dataDir, DB_FILE_NAME) });
    db = h;
    for (const id of [resumed, abandoned]) {
      expect(await eventually(() => getStream(h.db, id), (s) => s?.viewers_count === 1)).toMatchObject({ status: 'live', viewers_count: 1 });
    }
    const killedAt = Date.now();
    await first.kill();

    const second = await start({ RESTART_GRACE_MS: GRACE });
    // Within the grace period both are still live, but nobody watches through a dead process.
    expect(await getStream(h.db, resumed)).toMatchObject({ status: 'live', viewers_count: 0 });
    expect(await getStream(h.db, abandoned)).toMatchObject({ status: 'live', viewers_count: 0 });

    // Alice's client reconnects and publishes again; a viewer rejoins Bob's stream, whose streamer never returns.
    await publishCamera(await connect(second.url, resumed, alice.token));
    const viewer = await connect(second.url, abandoned);
    expect((await viewer.waitFor('connection_established')).stream.status).toBe('live');

    const end = await viewer.waitFor('stream_ended', undefined, 10_000);
    expect(end.reason).toBe('server_restart');
    expect(await viewer.closedPromise).toBe(CLOSE_CODES.streamEnded);

    const row = await getStream(h.db, abandoned);
    expect(row).toMatchObject({ status: 'ended', end_reason: 'server_restart', viewers_count: 0, ended_at: end.endedAt });
    // Ended where it really stopped: its last sign of life before the kill, not the restart.
    expect(row!.ended_at!).toBeLessThanOrEqual(killedAt);
    expect(row!.ended_at!).toBeGreaterThanOrEqual(row!.started_at!);

    // No orphans: every open stream is one a process carries (or one still waiting for its streamer).
    expect((await listOpenStreams(h.db)).map((s) => [s.id, s.status])).toEqual([
      [resumed, 'live'],
      [waiting, 'waiting'],
    ]);
    expect((await api(second.url, 'GET', '/api/live/')).body.streams.map((s: { id: number }) => s.id)).toEqual([resumed]);
    // Bob's channel is free again: the one-open-stream rule does not hold a dead stream against him.
    expect((await api(second.url, 'POST', '/api/live/create/', { token: bob.token, body: { title: 'again' } })).status).toBe(201);
  });

  it('with no grace period, ends at startup every stream a shut-down server left live', async () => {
    const first = await startTestServer({}, { dataDir });
    const ana = await registerUser(first.url, 'ana');
    const id = await createStream(first.url, ana.token);
    const streamer = await TestWsClient.connect(first.wsUrl(id), { token: ana.token });
    await goLive(streamer);
    // A graceful shutdown keeps the stream live, so that a restart within the grace period can resume it.
    await first.close();
    await streamer.closedPromise;

    const second = await startTestServer({ sweeper: { ...defaultConfig().sweeper, restartGraceMs: 0 } }, { dataDir });
    try {
      expect(await getStream(second.app.db, id)).toMatchObject({ status: 'ended', end_reason: 'server_restart', viewers_count: 0 });
      expect(second.app.restartRecovery.pending).toEqual([]);
      expect((await TestWsClient.connect(second.wsUrl(id)).then((c) => c.closedPromise))).toBe(CLOSE_CODES.streamEnded);
    } finally {
      await second.close();
    }
  });
});
