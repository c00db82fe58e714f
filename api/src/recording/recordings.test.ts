import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createStream, getRecording, insertComments, openRecording, transitionStream, updateRecording } from '@redred/db';
import { requireBinary } from '../testing/owned-process.ts';
import { goLive } from '../testing/publish.ts';
import { api, registerUser, startTestServer, type TestServer } from '../testing/server.ts';
import { TestWsClient } from '../testing/ws-client.ts';
import { runStartFile } from './recorder-process.ts';
import { RecordingService } from './service.ts';
import { finalFile, recordingDir } from './store.ts';

// A real server and SQLite file; recordings are seeded as rows plus files of a chosen size, so
// retention and the quota run against a clock and sizes the test controls.

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 1);
const RECORDING = { retentionDays: 2, maxGb: 0, segmentSeconds: 4, minFreeMb: 0, ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe' };

let now = T0;
let srv: TestServer;

beforeAll(async () => {
  srv = await startTestServer({ recording: RECORDING, metricsToken: METRICS_TOKEN }, { now: () => now });
});
afterAll(() => srv?.close());

/** A finished recording of a stream that ran from `startedAt` for an hour, with a file of `size` bytes. */
async function seed(streamerId: number, startedAt: number, size: number, status: 'ready' | 'recording' = 'ready'): Promise<number> {
  const db = srv.app.db;
  const created = await createStream(db, { streamerId, title: `stream at ${startedAt}`, description: '', now: startedAt });
  if (!created.ok) throw new Error('stream already open');
  await transitionStream(db, created.stream.id, 'live', { now: startedAt });
  const rec = await openRecording(db, { streamId: created.stream.id, channelId: streamerId, container: 'webm', now: startedAt });
  if (status === 'ready') {
    await transitionStream(db, created.stream.id, 'ended', { now: startedAt + 3_600_000, reason: 'streamer_ended' });
    await updateRecording(db, rec.id, { status: 'ready', ended_at: startedAt + 3_600_000, duration_ms: 3_600_000, size_bytes: size, segments: 1 });
    const file = finalFile(srv.app.recordings.ctx.recordingsDir, rec.id, 'webm');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, Buffer.alloc(size, 7));
  } else {
    mkdirSync(recordingDir(srv.app.recordings.ctx.recordingsDir, rec.id), { recursive: true });
    writeFileSync(`${recordingDir(srv.app.recordings.ctx.recordingsDir, rec.id)}/run-0001-0000.webm`, Buffer.alloc(size, 7));
  }
  return rec.id;
}

const exists = async (id: number) => (await getRecording(srv.app.db, id)) !== undefined && existsSync(recordingDir(srv.app.recordings.ctx.recordingsDir, id));

describe('retention and quota (sweep)', () => {
  it('deletes finished recordings older than RECORDING_RETENTION_DAYS, files and row', async () => {
    const user = await registerUser(srv.url, 'keeper');
    now = T0 + 10 * DAY;
    const old = await seed(user.id, now - 3 * DAY, 100);
    const recent = await seed(user.id, now - 1 * DAY, 100);
    const { deleted } = await srv.app.recordings.sweep();
    expect(deleted).toEqual([old]);
    expect(await exists(old)).toBe(false);
    expect(await exists(recent)).toBe(true);
    now += 1.5 * DAY;
    expect((await srv.app.recordings.sweep()).deleted).toEqual([recent]);
    expect(await exists(recent)).toBe(false);
  });

  it('deletes the oldest finished recordings while the total exceeds the quota; never one being written', async () => {
    const user = await registerUser(srv.url, 'quota');
    now = T0 + 20 * DAY;
    const live = await registerUser(srv.url, 'quotalive');
    const writing = await seed(live.id, now - 5 * DAY, 1000, 'recording');
    const a = await seed(user.id, now - 4 * DAY, 1000);
    const b = await seed(user.id, now - 3 * DAY, 1000);
    const c = await seed(user.id, now - 2 * DAY, 1000);
    // A small quota: 2.5 kB. A second service over the same context, so the server's policy stays as configured.
    const service = new RecordingService(srv.app.recordings.ctx, { retentionDays: 0, maxBytes: 2500 });
    try {
      expect((await service.sweep()).deleted).toEqual([a, b]);
      expect(await exists(writing)).toBe(true);
      expect(await exists(a)).toBe(false);
      expect(await exists(b)).toBe(false);
      expect(await exists(c)).toBe(true);
      expect((await service.sweep()).deleted).toEqual([]);
    } finally {
      await service.close();
    }
  });
});

describe('low free disk', () => {
  let low: TestServer;
  const clients: TestWsClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await low?.close();
  });

  it('no recorder starts; everyone in the room sees recording_status with reason disk_low', async () => {
    // More free space asked for than any disk here has.
    low = await startTestServer({ recording: { ...RECORDING, minFreeMb: 10_000_000 } });
    const user = await registerUser(low.url, 'lowdisk');
    const created = await api(low.url, 'POST', '/api/live/create/', { token: user.token, body: { title: 'full disk', record: true } });
    expect(created.status).toBe(201);
    const streamId = created.body.stream.id as number;
    const streamer = await TestWsClient.connect(low.wsUrl(streamId), { token: user.token, origin: low.url });
    clients.push(streamer);
    await streamer.waitFor('connection_established');
    await goLive(streamer);
    const status = await streamer.waitFor('recording_status');
    expect(status).toEqual({ type: 'recording_status', recording: false, reason: 'disk_low' });
    expect(low.app.recordings.recorder(streamId)?.active).toBe(false);
    // A viewer who joins afterwards learns it from the snapshot.
    const late = await TestWsClient.connect(low.wsUrl(streamId), { origin: low.url });
    clients.push(late);
    const welcome = await late.waitFor('connection_established');
    expect(welcome.stream).toMatchObject({ recordingStopReason: 'disk_low' });
    expect(welcome.stream.recording).toBeUndefined();
  });
});

describe('recordings over REST: bad input and the streamer\'s controls', () => {
  let owner: { token: string; id: number };
  let other: { token: string; id: number };
  let id: number;
  const SIZE = 5000;

  beforeAll(async () => {
    owner = await registerUser(srv.url, 'owner');
    other = await registerUser(srv.url, 'other');
    now = Date.now();
    id = await seed(owner.id, now - 1000, SIZE);
  });

  it('serves ranges (206) and answers 416 with Content-Range for one out of bounds', async () => {
    const part = await fetch(`${srv.url}/api/recordings/${id}/file`, { headers: { range: 'bytes=10-19' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 10-19/${SIZE}`);
    expect(part.headers.get('content-type')).toBe('video/webm');
    expect((await part.arrayBuffer()).byteLength).toBe(10);
    for (const range of [`bytes=${SIZE}-`, `bytes=${SIZE + 100}-${SIZE + 200}`, 'bytes=-0', 'bytes=20-10']) {
      const r = await api(srv.url, 'GET', `/api/recordings/${id}/file`, { headers: { range } });
      expect({ range, status: r.status, code: r.body.error?.code ?? r.body.code }).toEqual({ range, status: 416, code: 'range_not_satisfiable' });
      expect(r.headers.get('content-range')).toBe(`bytes */${SIZE}`);
    }
    const whole = await fetch(`${srv.url}/api/recordings/${id}/file`);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect((await whole.arrayBuffer()).byteLength).toBe(SIZE);
  });

  it('refuses a recording id that is not a positive integer (400), so no path reaches the disk', async () => {
    for (const bad of ['..%2F..%2Fetc%2Fpasswd', '1%2F..%2F2', '%2e%2e%2F1', '0', '-1', '1.5', '12345678901234567', 'abc']) {
      const r = await api(srv.url, 'GET', `/api/recordings/${bad}/file`);
      expect({ bad, status: r.status }).toEqual({ bad, status: 400 });
    }
    // Dot segments (plain or %2e) are resolved by the URL itself: no recording route is even matched.
    expect((await fetch(`${srv.url}/api/recordings/../../etc/passwd`)).status).toBe(404);
    expect((await fetch(`${srv.url}/api/recordings/%2e%2e/file`)).status).toBe(404);
    expect((await api(srv.url, 'GET', '/api/recordings/999999/file')).status).toBe(404);
  });

  it('the streamer makes it private: others get 404 everywhere, the streamer still sees it', async () => {
    expect((await api(srv.url, 'PATCH', `/api/recordings/${id}`, { token: other.token, body: { private: true } })).status).toBe(403);
    const patched = await api(srv.url, 'PATCH', `/api/recordings/${id}`, { token: owner.token, body: { private: true } });
    expect(patched.status).toBe(200);
    expect(patched.body.recording.private).toBe(true);
    for (const token of [undefined, other.token]) {
      const opts = token ? { token } : {};
      expect((await api(srv.url, 'GET', `/api/recordings/${id}`, opts)).status).toBe(404);
      expect((await api(srv.url, 'GET', `/api/recordings/${id}/file`, opts)).status).toBe(404);
      expect((await api(srv.url, 'GET', `/api/recordings/${id}/chat`, opts)).status).toBe(404);
      expect((await api(srv.url, 'GET', '/api/channels/owner/recordings', opts)).body.recordings).toEqual([]);
      expect((await api(srv.url, 'DELETE', `/api/recordings/${id}`, opts)).status).toBe(token ? 404 : 401);
    }
    const own = await fetch(`${srv.url}/api/recordings/${id}/file`, { headers: { authorization: `Bearer ${owner.token}`, range: 'bytes=0-0' } });
    expect(own.status).toBe(206);
    expect(own.headers.get('cache-control')).toBe('private, no-store');
    expect((await api(srv.url, 'GET', `/api/recordings/${id}/chat`, { token: owner.token })).body).toEqual({ comments: [] });
    expect((await api(srv.url, 'GET', '/api/channels/owner/recordings', { token: owner.token })).body.recordings.map((r: { id: number }) => r.id)).toEqual([id]);
  });

  it('the streamer deletes it: 204, the files and the row are gone', async () => {
    const r = await api(srv.url, 'DELETE', `/api/recordings/${id}`, { token: owner.token });
    expect(r.status).toBe(204);
    expect(await exists(id)).toBe(false);
    expect((await api(srv.url, 'GET', `/api/recordings/${id}`, { token: owner.token })).status).toBe(404);
  });
});

/** /metrics is closed by default; the test server opens it with a token. */
const METRICS_TOKEN = 'recordings-metrics-test-token';

describe('/metrics after the tests above', () => {
  it('counts recordings and bytes by status, and what retention and the quota deleted', async () => {
    const text = await (await fetch(`${srv.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    // Left: the quota test's newest finished recording (1000 B) and the one still being written.
    expect(text).toContain('redred_recordings{status="ready"} 1');
    expect(text).toContain('redred_recordings{status="recording"} 1');
    expect(text).toContain('redred_recordings_bytes{status="ready"} 1000');
    expect(text).toContain('redred_recordings_pruned_total 4');
    expect(text).toContain('redred_recorders_active 0');
    expect(text).toMatch(/redred_recordings_disk_free_bytes [1-9]/);
  });
});

describe('the channel default', () => {
  it('GET/PUT /api/recording-settings; a stream created without `record` follows it', async () => {
    const user = await registerUser(srv.url, 'defaults');
    expect((await api(srv.url, 'GET', '/api/recording-settings')).status).toBe(401);
    expect((await api(srv.url, 'GET', '/api/recording-settings', { token: user.token })).body).toEqual({ recordByDefault: false });
    expect((await api(srv.url, 'PUT', '/api/recording-settings', { token: user.token, body: { recordByDefault: 'yes' } })).status).toBe(400);
    expect((await api(srv.url, 'PUT', '/api/recording-settings', { token: user.token, body: { recordByDefault: true } })).body).toEqual({ recordByDefault: true });
    expect((await api(srv.url, 'GET', '/api/recording-settings', { token: user.token })).body).toEqual({ recordByDefault: true });
    const created = await api(srv.url, 'POST', '/api/live/create/', { token: user.token, body: { title: 'by default' } });
    expect(created.status).toBe(201);
    expect((await getStreamRecord(created.body.stream.id))).toBe(1);
  });
});

async function getStreamRecord(streamId: number): Promise<number | undefined> {
  const row = await srv.app.db.selectFrom('live_streams').select('record').where('id', '=', streamId).executeTakeFirst();
  return row?.record;
}

describe('chat replay across a recorder restart', () => {
  it('places each comment in the joined file by its run: a gap shifts the later ones back, one written in the gap shows where the next run starts', async () => {
    const ffmpeg = requireBinary('ffmpeg');
    const user = await registerUser(srv.url, 'twice');
    const db = srv.app.db;
    const run1 = T0 + 40 * DAY;
    const run2 = run1 + 6000 + 2500; // run 1 holds two 3 s segments, then 2.5 s without a recorder
    now = run1;
    const created = await createStream(db, { streamerId: user.id, title: 'restarted', description: '', now: run1 - 1000 });
    if (!created.ok) throw new Error('stream already open');
    await transitionStream(db, created.stream.id, 'live', { now: run1 - 1000 });
    const rec = await openRecording(db, { streamId: created.stream.id, channelId: user.id, container: 'webm', now: run1 - 500 });
    // Real segments as the recorder names them, and each run's start as it writes it.
    const dir = recordingDir(srv.app.recordings.ctx.recordingsDir, rec.id);
    mkdirSync(dir, { recursive: true });
    for (const name of ['run-0001-0000', 'run-0001-0001', 'run-0002-0000']) {
      const made = spawnSync(ffmpeg, ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10', '-f', 'lavfi', '-i', 'sine', '-t', '3', '-c:v', 'libvpx', '-c:a', 'libopus', `${dir}/${name}.webm`]);
      expect(made.status).toBe(0);
    }
    writeFileSync(runStartFile(dir, 1), `${run1}\n`);
    writeFileSync(runStartFile(dir, 2), `${run2}\n`);
    const at = { first: run1 + 1000, secondSegment: run1 + 4000, inGap: run1 + 7000, afterGap: run2 + 1000 };
    await insertComments(db, Object.entries(at).map(([content, when]) => ({ streamId: created.stream.id, userId: user.id, content, highlighted: false, now: when })));
    await transitionStream(db, created.stream.id, 'ended', { now: run2 + 3000, reason: 'streamer_ended' });
    await srv.app.recordings.finalizeIfEnded(rec.id, false);
    expect((await getRecording(db, rec.id))?.status).toBe('ready');

    const body = (await api(srv.url, 'GET', `/api/recordings/${rec.id}/chat`)).body as { comments: { content: string; createdAt: number; mediaMs: number }[] };
    const mediaMs = Object.fromEntries(body.comments.map((c) => [c.content, c.mediaMs]));
    // Segment lengths come from ffprobe (3 s of 10 fps VP8 + Opus, give or take a frame).
    const near = (value: number | undefined, expected: number) => expect(Math.abs(value! - expected)).toBeLessThan(150);
    near(mediaMs.first, 1000);
    near(mediaMs.secondSegment, 4000);
    near(mediaMs.inGap, 6000);
    near(mediaMs.afterGap, 7000);
    // Without the timeline the last would sit 2.5 s later than its video.
    expect(body.comments.find((c) => c.content === 'afterGap')!.createdAt - (run1 - 500)).toBeGreaterThan(9000);
    expect(readdirSync(dir)).toEqual(['recording.webm']);
  });
});
