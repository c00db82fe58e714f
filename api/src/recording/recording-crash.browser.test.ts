import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getRecording } from '@redred/db';
import { buildMediaHarness } from '../testing/browser/build.ts';
import { launchChromium } from '../testing/chromium.ts';
import { requireBinary } from '../testing/owned-process.ts';
import { startServerProcess, type ServerProcess } from '../testing/process.ts';
import { ffprobe, playInPage, runningRuns, until } from '../testing/recording.ts';
import { api, registerUser, startTestServer, type TestServer } from '../testing/server.ts';
import { mediaTimeOf, parseTimeline } from './timeline.ts';

// Real servers, real mediasoup workers, a real Chromium publisher, real ffmpeg recorders — killed for real.
type Harness = { publish(id: number): Promise<{ producers: number }>; endStream(): Promise<void> };
declare const harness: Harness;

/** Seconds of media recorded on each side of a crash: the length of media under test, not a synchronisation. */
const SIDE_MS = 6_000;
const media = (ms: number) => new Promise((r) => setTimeout(r, ms));

let browser: Browser;
let clientDir: string;
const contexts: BrowserContext[] = [];

async function openPage(url: string, token?: string): Promise<Page> {
  const context = await browser.newContext();
  contexts.push(context);
  if (token) await context.addCookies([{ name: 'redred_session', value: token, url }]);
  const page = await context.newPage();
  await page.goto(url + '/');
  await page.waitForFunction(() => document.title === 'harness ready');
  return page;
}

async function goLive(url: string, name: string): Promise<{ streamId: number; page: Page; token: string }> {
  const user = await registerUser(url, name);
  const created = await api(url, 'POST', '/api/live/create/', { token: user.token, body: { title: `${name} stream`, record: true } });
  expect(created.status).toBe(201);
  const streamId = created.body.stream.id as number;
  const page = await openPage(url, user.token);
  await page.evaluate((id) => harness.publish(id), streamId);
  return { streamId, page, token: user.token };
}

async function recordingOf(url: string, streamId: number): Promise<{ id: number; url?: string; durationMs: number; status: string; stopReason: string | null }> {
  return until('the stream\'s recording', async () => {
    const r = await api(url, 'GET', `/api/live/${streamId}/recording`);
    return r.status === 200 ? r.body.recording : undefined;
  });
}

async function finished(url: string, streamId: number): Promise<{ id: number; url: string; durationMs: number; status: string; stopReason: string | null }> {
  return until('the finalised recording', async () => {
    const r = await api(url, 'GET', `/api/live/${streamId}/recording`);
    return r.status === 200 && r.body.recording.url ? r.body.recording : undefined;
  }, 60_000);
}

beforeAll(async () => {
  requireBinary('ffmpeg');
  clientDir = await buildMediaHarness();
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
});

describe('a recording survives its recorder and its worker being killed', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({
      clientDir,
      mediasoupWorkers: 1,
      recording: { retentionDays: 0, maxGb: 0, segmentSeconds: 4, minFreeMb: 0, ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe' },
    });
  }, 60_000);
  afterAll(async () => {
    await srv?.close();
  });

  /** Kills something mid-stream, then proves a second run starts and the final file plays across the gap. */
  async function killMidStream(name: string, kill: (streamId: number, dir: string) => void): Promise<void> {
    const { streamId, page } = await goLive(srv.url, name);
    const rec = await recordingOf(srv.url, streamId);
    const dir = join(srv.dataDir, 'recordings', String(rec.id));
    await until('the first recorder run', () => runningRuns(dir).includes(1) || undefined);
    await media(SIDE_MS);
    kill(streamId, dir);
    const killedAt = Date.now();
    // "Within a few seconds": the run restarts by itself (1 s after a recorder death; when media is back after a worker death).
    await until('a second recorder run', () => runningRuns(dir).some((r) => r > 1) || undefined, 15_000);
    const gapMs = Date.now() - killedAt;
    await until('the recorder writing again', () => srv.app.recordings.recorder(streamId)?.active || undefined);
    await media(SIDE_MS);
    await page.evaluate(() => harness.endStream());
    const done = await finished(srv.url, streamId);
    expect(done.status).toBe('ready');
    const probed = ffprobe(join(dir, 'recording.webm'));
    expect(probed.streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
    // Both sides of the gap are in the file (the gap itself is closed up): more than either side alone.
    expect(probed.duration * 1000).toBeGreaterThan(SIDE_MS * 1.5);
    expect(readdirSync(dir)).toEqual(['recording.webm']);
    // The timeline keeps the gap the file closes up, so the chat replay stays with the video after it.
    const timeline = parseTimeline((await getRecording(srv.app.db, done.id))!.timeline);
    const gaps = timeline.slice(1).map((e, i) => e.wallMs - (timeline[i]!.wallMs + timeline[i]!.durationMs));
    expect(gaps.filter((g) => g > 500)).toHaveLength(1);
    const afterGap = timeline[gaps.findIndex((g) => g > 500) + 1]!;
    // The gap spans the kill: the first run ends by it (1 s for the clocks of the test and the server), the second starts after it.
    const before = timeline[timeline.indexOf(afterGap) - 1]!;
    expect(before.wallMs + before.durationMs).toBeLessThan(killedAt + 1000);
    expect(afterGap.wallMs).toBeGreaterThan(killedAt);
    // A comment written just after the kill shows where the video comes back, not 1–3 s early.
    expect(mediaTimeOf(timeline, killedAt + 100, 0)).toBe(afterGap.mediaMs);
    // Plays from before the gap to the end, and seeks past it.
    const viewer = await openPage(srv.url);
    const early = await playInPage(viewer, done.url, 0.2);
    expect(early.ended).toBe(true);
    expect(early.frames).toBeGreaterThan(20);
    const late = await playInPage(viewer, done.url, 0.8);
    expect(late.ended).toBe(true);
    expect(Math.abs(late.seekedTo - late.duration * 0.8)).toBeLessThan(1.5);
    console.log(`${name}: new run ${gapMs} ms after the kill; file ${probed.duration.toFixed(1)} s`);
  }

  it('SIGKILL of the recorder: a new run starts within seconds and the file plays across the gap', async () => {
    await killMidStream('reckill', (_streamId, dir) => {
      const run = Math.max(...runningRuns(dir));
      process.kill(readPid(dir, run), 'SIGKILL');
    });
  }, 180_000);

  it('SIGKILL of the stream\'s mediasoup worker: the same', async () => {
    await killMidStream('workerkill', (streamId) => {
      process.kill(srv.app.rooms.get(streamId)!.media.placement().origin.workerPid, 'SIGKILL');
    });
  }, 180_000);
});

describe('a recording survives a SIGKILL of the server', () => {
  let dataDir: string;
  let first: ServerProcess | undefined;
  let second: ServerProcess | undefined;
  afterAll(async () => {
    await first?.kill().catch(() => {});
    await second?.stop().catch(() => {});
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('after the restart the recording up to the crash is finalised as partial and plays', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'redred-reccrash-'));
    const env = {
      DATA_DIR: dataDir,
      CLIENT_DIR: clientDir,
      RECORDING_SEGMENT_SECONDS: '4',
      RECORDING_MIN_FREE_MB: '0',
      RESTART_GRACE_MS: '0',
      SWEEP_INTERVAL_MS: '1000',
    };
    first = await startServerProcess(env);
    const { streamId } = await goLive(first.url, 'srvkill');
    const rec = await recordingOf(first.url, streamId);
    const dir = join(dataDir, 'recordings', String(rec.id));
    await until('the recorder run', () => runningRuns(dir).includes(1) || undefined);
    const recorderPid = readPid(dir, 1);
    await media(SIDE_MS);
    await first.kill();
    first = undefined;
    // The orphaned ffmpeg ends by itself (-listen_timeout) once the dead server's worker sends nothing.
    await until('the orphaned recorder gone', () => !alive(recorderPid) || undefined, 20_000);
    second = await startServerProcess(env);
    const done = await finished(second.url, streamId);
    expect(done.status).toBe('partial');
    expect(done.stopReason).toBe('server_crash');
    const probed = ffprobe(join(dir, 'recording.webm'));
    expect(probed.streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
    // What was written before the crash (at most the segment in progress is lost, and a killed segment is remuxed).
    expect(probed.duration * 1000).toBeGreaterThan(SIDE_MS - 4_000);
    const viewer = await openPage(second.url);
    const played = await playInPage(viewer, done.url, 0.3);
    expect(played.ended).toBe(true);
    expect(played.frames).toBeGreaterThan(10);
  }, 180_000);
});

function readPid(dir: string, run: number): number {
  return Number(readFileSync(join(dir, `run-${String(run).padStart(4, '0')}.pid`), 'utf8').trim());
}

/** A process that has exited (or is a zombie) has an empty command line. */
function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').length > 0;
  } catch {
    return false;
  }
}
