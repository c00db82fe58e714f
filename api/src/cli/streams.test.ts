import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStream, getStream, listOpenStreams, openDatabase, transitionStream, type DatabaseHandle } from '@redred/db';
import { defaultConfig } from '../config.ts';
import { DB_FILE_NAME } from '../plugins/db.ts';
import { CLOSE_CODES } from '../protocol/constants.ts';
import { registerUser, startTestServer, type TestServer } from '../testing/server.ts';
import { TestWsClient } from '../testing/ws-client.ts';

// The real CLI (api/bin/redred.mjs) against the real SQLite file of a running server.

const API_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(API_DIR, 'bin', 'redred.mjs');
const ENTRY = join(API_DIR, 'src', 'cli', 'main.ts');
const MIN = 60_000;
const HOUR = 60 * MIN;

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI in its own process: through the installed bin (`bin: true`), or
 * straight through its tsx entry, which saves the bin's extra Node start.
 */
function redred(args: string[], opts: { stdin?: string; env?: Record<string, string>; bin?: boolean } = {}): Promise<CliRun> {
  return new Promise((resolveRun, reject) => {
    const argv = opts.bin ? [BIN, ...args] : ['--import', 'tsx', ENTRY, ...args];
    const child = spawn(process.execPath, argv, { cwd: API_DIR, env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d.toString()));
    child.stderr.on('data', (d) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolveRun({ code, stdout, stderr }));
    child.stdin.end(opts.stdin ?? '');
  });
}

/** The table row of one stream in `check` output. */
function rowOf(output: string, id: number): string | undefined {
  return output.split('\n').find((line) => new RegExp(`^${id}\\s{2,}`).test(line));
}

let dataDir: string;
let srv: TestServer;
let db: DatabaseHandle;
const clients: TestWsClient[] = [];
/** Stream ids by what the rules should say about them. */
const s = { neverConnected: 0, idle: 0, tooLong: 0, fresh: 0, ended: 0, waitingFresh: 0 };
let tooLongViewer: TestWsClient;
let freshViewer: TestWsClient;
let freshStreamer: TestWsClient;

async function viewersStored(id: number, n: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while ((await getStream(db.db, id))?.viewers_count !== n) {
    if (Date.now() > deadline) throw new Error(`stream ${id} never stored ${n} viewers`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'redred-cli-'));
  // The server never sweeps by itself here; it only syncs its rooms with the database, quickly.
  srv = await startTestServer({ sweeper: { ...defaultConfig().sweeper, intervalMs: 10 * HOUR, roomSyncIntervalMs: 200 } }, { dataDir });
  db = openDatabase({ file: join(dataDir, DB_FILE_NAME) });
  const now = Date.now();
  const ana = await registerUser(srv.url, 'ana');
  const ben = await registerUser(srv.url, 'ben');
  const cy = await registerUser(srv.url, 'cyd');
  const dee = await registerUser(srv.url, 'dee');
  const eve = await registerUser(srv.url, 'eve');
  const flo = await registerUser(srv.url, 'flo');
  // Streams whose history is older than this test: written as the server would have, hours ago.
  const open = async (streamerId: number, createdAt: number) => {
    const res = await createStream(db.db, { streamerId, title: 'cli', description: '', now: createdAt });
    if (!res.ok) throw new Error('create');
    return res.stream.id;
  };
  s.neverConnected = await open(ana.id, now - 2 * HOUR);
  s.idle = await open(ben.id, now - HOUR);
  await transitionStream(db.db, s.idle, 'live', { now: now - HOUR });
  s.tooLong = await open(cy.id, now - 5 * HOUR);
  await transitionStream(db.db, s.tooLong, 'live', { now: now - 5 * HOUR });
  s.fresh = await open(dee.id, now - 5 * MIN);
  await transitionStream(db.db, s.fresh, 'live', { now: now - 5 * MIN });
  s.ended = await open(eve.id, now - 3 * HOUR);
  await transitionStream(db.db, s.ended, 'ended', { now: now - 2 * HOUR, reason: 'streamer_ended' });
  s.waitingFresh = await open(flo.id, now - MIN);

  tooLongViewer = await TestWsClient.connect(srv.wsUrl(s.tooLong));
  freshViewer = await TestWsClient.connect(srv.wsUrl(s.fresh));
  freshStreamer = await TestWsClient.connect(srv.wsUrl(s.fresh), { token: dee.token });
  clients.push(tooLongViewer, freshViewer, freshStreamer);
  await viewersStored(s.tooLong, 1);
  await viewersStored(s.fresh, 1);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await srv.close();
  await db.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('redred streams (the real CLI on a running server\'s database)', () => {
  it('check lists every stream that is not ended, with the rule that would end it', async () => {
    const run = await redred(['streams', 'check', '--data-dir', dataDir], { bin: true });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const header = run.stdout.split('\n')[0]!;
    expect(header.split(/\s{2,}/)).toEqual(['ID', 'STREAMER', 'STATUS', 'AGE', 'LIVE FOR', 'VIEWERS', 'LAST ACTIVITY', 'WOULD END']);
    expect(rowOf(run.stdout, s.neverConnected)).toMatch(/ana\s+waiting\s+2h00m\s+-\s+0\s+.*streamer_never_connected: streamer never connected for 2h00m/);
    expect(rowOf(run.stdout, s.idle)).toMatch(/ben\s+live\s+1h00m\s+1h00m\s+0\s+.*idle_no_viewers: no viewers for 1h00m/);
    expect(rowOf(run.stdout, s.tooLong)).toMatch(/cyd\s+live\s+5h00m\s+5h00m\s+1\s+.*max_duration: live for 5h00m/);
    expect(rowOf(run.stdout, s.fresh)).toMatch(/dee\s+live\s+5m\s+5m\s+1\s+\d+s ago\s+-$/);
    expect(rowOf(run.stdout, s.waitingFresh)).toMatch(/flo\s+waiting\s+1m\s+-\s+0\s+.*-$/);
    expect(rowOf(run.stdout, s.ended)).toBeUndefined();
    expect(run.stdout).toContain('5 open streams; 3 would be ended by `redred streams cleanup`');

    const json = await redred(['streams', 'check', '--json'], { env: { DATA_DIR: dataDir } });
    expect(json.code).toBe(0);
    const rows = JSON.parse(json.stdout) as { id: number; wouldEnd: { reason: string } | null }[];
    expect(rows.map((r) => [r.id, r.wouldEnd?.reason ?? null])).toEqual([
      [s.neverConnected, 'streamer_never_connected'],
      [s.idle, 'idle_no_viewers'],
      [s.tooLong, 'max_duration'],
      [s.fresh, null],
      [s.waitingFresh, null],
    ]);
  });

  it('cleanup --dry-run prints what it would end and changes nothing', async () => {
    const snapshot = () =>
      db.db.selectFrom('live_streams').select(['id', 'status', 'started_at', 'ended_at', 'end_reason', 'viewers_count']).orderBy('id').execute();
    const before = await snapshot();
    const run = await redred(['streams', 'cleanup', '--dry-run', '--data-dir', dataDir]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`would end stream ${s.neverConnected} (ana, waiting): streamer_never_connected`);
    expect(run.stdout).toContain(`would end stream ${s.idle} (ben, live): idle_no_viewers`);
    expect(run.stdout).toContain(`would end stream ${s.tooLong} (cyd, live): max_duration`);
    expect(run.stdout).not.toContain(`stream ${s.fresh} `);
    expect(run.stdout).toContain('would end 3 of 5 open streams (dry run: nothing changed)');
    expect(await snapshot()).toEqual(before);
    expect(tooLongViewer.of('stream_ended')).toEqual([]);
  });

  it('cleanup ends exactly the streams the rules name, and the running server tells their viewers', async () => {
    const run = await redred(['streams', 'cleanup', '--data-dir', dataDir]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('ended 3 of 5 open streams');
    expect(await getStream(db.db, s.neverConnected)).toMatchObject({ status: 'ended', end_reason: 'streamer_never_connected' });
    expect(await getStream(db.db, s.idle)).toMatchObject({ status: 'ended', end_reason: 'idle_no_viewers' });
    expect(await getStream(db.db, s.tooLong)).toMatchObject({ status: 'ended', end_reason: 'max_duration', viewers_count: 0 });
    expect((await getStream(db.db, s.fresh))?.status).toBe('live');
    expect((await getStream(db.db, s.waitingFresh))?.status).toBe('waiting');

    const ended = await tooLongViewer.waitFor('stream_ended', undefined, 5000);
    expect(ended).toEqual({ type: 'stream_ended', reason: 'max_duration', endedAt: (await getStream(db.db, s.tooLong))!.ended_at });
    expect(await tooLongViewer.closedPromise).toBe(CLOSE_CODES.streamEnded);
    expect(freshViewer.of('stream_ended')).toEqual([]);
  });

  it('force-cleanup asks first, and a no changes nothing', async () => {
    const run = await redred(['streams', 'force-cleanup', '--data-dir', dataDir], { stdin: 'n\n', bin: true });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('End these 2 streams? Their viewers are disconnected. [y/N]');
    expect(run.stderr).toContain('aborted: nothing changed');
    expect((await getStream(db.db, s.fresh))?.status).toBe('live');
    expect((await getStream(db.db, s.waitingFresh))?.status).toBe('waiting');
  });

  it('force-cleanup --id ends one stream after a yes', async () => {
    const run = await redred(['streams', 'force-cleanup', '--id', String(s.waitingFresh), '--data-dir', dataDir], { stdin: 'y\n' });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`ended stream ${s.waitingFresh} (flo, waiting): force_cleanup`);
    expect(await getStream(db.db, s.waitingFresh)).toMatchObject({ status: 'ended', end_reason: 'force_cleanup' });
    expect((await getStream(db.db, s.fresh))?.status).toBe('live');
  });

  it('force-cleanup --yes ends every open stream, and the running server tells their viewers and streamer', async () => {
    const run = await redred(['streams', 'force-cleanup', '--yes', '--data-dir', dataDir]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`ended stream ${s.fresh} (dee, live): force_cleanup`);
    expect(await getStream(db.db, s.fresh)).toMatchObject({ status: 'ended', end_reason: 'force_cleanup', viewers_count: 0 });
    for (const c of [freshViewer, freshStreamer]) {
      expect(await c.waitFor('stream_ended', undefined, 5000)).toMatchObject({ reason: 'force_cleanup' });
      expect(await c.closedPromise).toBe(CLOSE_CODES.streamEnded);
    }
    expect(await listOpenStreams(db.db)).toEqual([]);
  });

  it('exits 2 on a usage error and 1 when there is no database', async () => {
    const usage = await redred(['streams', 'bogus']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('unknown command "bogus"');
    expect(usage.stderr).toContain('Usage: redred streams');
    const missing = await redred(['streams', 'check', '--data-dir', join(dataDir, 'nowhere')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no database at');
  });
});
