import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWhipHarness } from '../testing/browser/build.ts';
import { launchChromium } from '../testing/chromium.ts';
import { requireBinary } from '../testing/owned-process.ts';
import { ffprobe, playInPage, runningRuns, until } from '../testing/recording.ts';
import { api, registerUser, startTestServer, type TestServer } from '../testing/server.ts';
import { TestWsClient } from '../testing/ws-client.ts';
import { rotateKey } from '../whip/whip-testkit.ts';

// Real server, real mediasoup worker, real Chromium publishers (our page: VP8; an OBS-like WHIP page: H.264), real ffmpeg recorder.
type Harness = {
  publish(id: number): Promise<{ producers: number }>;
  streamerTopFrameSize(): Promise<{ width: number; height: number }>;
  endStream(): Promise<void>;
};
type WhipPage = {
  publish(o: { endpoint: string; key: string; width: number; height: number; maintainResolution?: boolean }): Promise<{ status: number; answer: string }>;
  publisherStats(): Promise<{ layers: { frameWidth: number; frameHeight: number }[] }>;
  stopPublishing(sendDelete: boolean): Promise<number>;
};
declare const harness: Harness;
declare const whip: WhipPage;

let srv: TestServer;
let browser: Browser;
let clientDir: string;
const contexts: BrowserContext[] = [];
const RECORD_MS = 20_000;
const H264_RECORD_MS = 15_000;

async function openPage(token?: string, path = '/', ready = 'harness ready'): Promise<Page> {
  const context = await browser.newContext();
  contexts.push(context);
  if (token) await context.addCookies([{ name: 'redred_session', value: token, url: srv.url }]);
  const page = await context.newPage();
  await page.goto(srv.url + path);
  await page.waitForFunction((title) => document.title === title, ready);
  return page;
}

async function goLiveRecording(name: string, record: boolean): Promise<{ streamId: number; page: Page; token: string }> {
  const user = await registerUser(srv.url, name);
  const created = await api(srv.url, 'POST', '/api/live/create/', { token: user.token, body: { title: `${name} stream`, record } });
  expect(created.status).toBe(201);
  const streamId = created.body.stream.id as number;
  const page = await openPage(user.token);
  await page.evaluate((id) => harness.publish(id), streamId);
  return { streamId, page, token: user.token };
}

async function finished(streamId: number): Promise<{ id: number; url: string; durationMs: number; sizeBytes: number; status: string }> {
  return until('the finalised recording', async () => {
    const r = await api(srv.url, 'GET', `/api/live/${streamId}/recording`);
    return r.status === 200 && r.body.recording.url ? r.body.recording : undefined;
  }, 60_000);
}

beforeAll(async () => {
  requireBinary('ffmpeg');
  clientDir = await buildWhipHarness();
  srv = await startTestServer({
    clientDir,
    mediasoupWorkers: 1,
    recording: { retentionDays: 0, maxGb: 0, segmentSeconds: 4, minFreeMb: 0, ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe' },
  });
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await srv?.close();
});

describe('recording a browser-published stream', () => {
  let recording: { id: number; url: string; durationMs: number; sizeBytes: number; status: string };
  let top: { width: number; height: number };
  let wallMs: number;

  it('writes one WebM with the top layer and the audio, as long as the wall time', async () => {
    const { streamId, page } = await goLiveRecording('recorded', true);
    await until('the recorder running', () => srv.app.recordings.recorder(streamId)?.active || undefined);
    const startedAt = Date.now();
    await recordFor(streamId, RECORD_MS);
    top = await page.evaluate(() => harness.streamerTopFrameSize());
    await page.evaluate(() => harness.endStream());
    wallMs = Date.now() - startedAt;
    recording = await finished(streamId);
    expect(recording.status).toBe('ready');
    expectOneFile(recording.id, 'recording.webm', 'vp8', top, wallMs);
    expect(recording.sizeBytes).toBeGreaterThan(0);
  }, 120_000);

  it('plays in Chromium to the end, and seeks to the middle through range requests', async () => {
    await expectPlaysWithSeeking(await openPage(), recording.url, wallMs, top.width);
  }, 120_000);

  it('a stream whose streamer did not ask for recording leaves no file', async () => {
    const { streamId, page } = await goLiveRecording('unrecorded', false);
    await until('the stream live', async () => ((await api(srv.url, 'GET', `/api/live/${streamId}`)).body.stream.status === 'live' ? true : undefined));
    expect(srv.app.recordings.recorder(streamId)).toBeUndefined();
    await page.evaluate(() => harness.endStream());
    expect((await api(srv.url, 'GET', `/api/live/${streamId}/recording`)).status).toBe(404);
    const dirs = existsSync(join(srv.dataDir, 'recordings')) ? readdirSync(join(srv.dataDir, 'recordings')) : [];
    expect(dirs).toEqual([String(recording.id)]);
  }, 60_000);
});

describe('recording an H.264 stream from an OBS-like WHIP encoder', () => {
  const WIDTH = 640;
  const HEIGHT = 360;
  let recording: { id: number; url: string; durationMs: number; sizeBytes: number; status: string };
  let top: { width: number; height: number };
  let wallMs: number;

  it('writes one MP4 (H.264 as sent + Opus) with the layer the encoder sent, as long as the wall time', async () => {
    // An encoder has no "record" box: the channel default decides.
    const user = await registerUser(srv.url, 'obsrecorded');
    expect((await api(srv.url, 'PUT', '/api/recording-settings', { token: user.token, body: { recordByDefault: true } })).status).toBe(200);
    const key = await rotateKey(srv, user.token);
    const encoder = await openPage(undefined, '/whip.html', 'whip ready');
    const published = await encoder.evaluate((o) => whip.publish(o), { endpoint: `${srv.url}/api/whip`, key, width: WIDTH, height: HEIGHT, maintainResolution: true });
    expect(published.status).toBe(201);
    expect(published.answer).toMatch(/a=rtpmap:\d+ H264\/90000/);
    const streamId = (await api(srv.url, 'GET', '/api/live/mine', { token: user.token })).body.stream.id as number;
    await until('the recorder running', () => srv.app.recordings.recorder(streamId)?.active || undefined);
    const startedAt = Date.now();
    await recordFor(streamId, H264_RECORD_MS);
    const layer = (await encoder.evaluate(() => whip.publisherStats())).layers[0]!;
    top = { width: layer.frameWidth, height: layer.frameHeight };
    expect(await encoder.evaluate(() => whip.stopPublishing(true))).toBe(200);
    wallMs = Date.now() - startedAt;
    // DELETE ends the encoder's session only (OBS may come back); the streamer ends the stream.
    const studio = await TestWsClient.connect(srv.wsUrl(streamId), { token: user.token });
    try {
      expect((await studio.request({ type: 'end_stream' })).type).not.toBe('error');
    } finally {
      await studio.close();
    }
    recording = await finished(streamId);
    expect(recording.status).toBe('ready');
    expect(top).toEqual({ width: WIDTH, height: HEIGHT });
    const file = expectOneFile(recording.id, 'recording.mp4', 'h264', top, wallMs);
    // Every frame decodes: no broken access units from the RTP depacketiser or the joins.
    expect(ffmpegDecodeErrors(file)).toBe('');
  }, 120_000);

  it('plays in Chromium to the end, and seeks to the middle through range requests', async () => {
    const page = await openPage();
    expect(await page.evaluate(() => document.createElement('video').canPlayType('video/mp4; codecs="avc1.42E01F, opus"'))).toBe('probably');
    await expectPlaysWithSeeking(page, recording.url, wallMs, top.width);
  }, 120_000);
});

/**
 * The finished recording is this one file (the segments were joined and
 * removed) with one `video` stream at the top layer's size and one Opus
 * stream, as long as the wall time the recorder ran (±10 %). Returns its path.
 */
function expectOneFile(recordingId: number, name: string, video: string, top: { width: number; height: number }, wallMs: number): string {
  const dir = join(srv.dataDir, 'recordings', String(recordingId));
  expect(readdirSync(dir)).toEqual([name]);
  const probed = ffprobe(join(dir, name));
  const videos = probed.streams.filter((s) => s.codec_type === 'video');
  expect(videos.map((s) => s.codec_name)).toEqual([video]);
  expect(probed.streams.filter((s) => s.codec_type === 'audio').map((s) => s.codec_name)).toEqual(['opus']);
  expect({ width: videos[0]!.width, height: videos[0]!.height }).toEqual(top);
  expect(Math.abs(probed.duration * 1000 - wallMs) / wallMs).toBeLessThan(0.1);
  return join(dir, name);
}

/** Plays to the end in `page`'s `<video>` after seeking to the middle, which the server answers with 206s. */
async function expectPlaysWithSeeking(page: Page, url: string, wallMs: number, width: number): Promise<void> {
  const statuses: number[] = [];
  page.on('response', (res) => {
    if (res.url().endsWith(url)) statuses.push(res.status());
  });
  const result = await playInPage(page, url);
  expect(result.ended).toBe(true);
  expect(result.duration * 1000).toBeGreaterThan(wallMs * 0.9);
  expect(Math.abs(result.seekedTo - result.duration / 2)).toBeLessThan(1.5);
  expect(result.frames).toBeGreaterThan(20);
  expect(result.width).toBe(width);
  expect(statuses).toContain(206);
}

/**
 * ffmpeg's complaints when it decodes the whole file ('' = every packet
 * decoded). The null muxer keeps the file's time base: at its default (1/frame
 * rate) two frames of a variable-rate WebRTC stream 31 ms apart round to one
 * tick and it warns about its own rounding, not about the file.
 */
function ffmpegDecodeErrors(file: string): string {
  const r = spawnSync(requireBinary('ffmpeg'), ['-v', 'error', '-i', file, '-enc_time_base', '-1', '-f', 'null', '-'], { encoding: 'utf8' });
  return r.status === 0 ? r.stderr.trim() : `exit ${r.status}: ${r.stderr}`;
}

/**
 * Lets the recorder run for `ms` (the length of media under test, not a
 * synchronisation) and prints its CPU per Mbps: the closing note, a
 * measurement, not asserted.
 */
async function recordFor(streamId: number, ms: number): Promise<void> {
  const before = recorderCpu(streamId);
  const bytesBefore = await srv.app.recordings.recorder(streamId)!.bytesSent();
  await new Promise((r) => setTimeout(r, ms));
  const after = recorderCpu(streamId);
  const bytes = (await srv.app.recordings.recorder(streamId)!.bytesSent()) - bytesBefore;
  if (!before || !after || before.pid !== after.pid) return;
  const seconds = (after.at - before.at) / 1000;
  const cores = (after.cpuS - before.cpuS) / seconds;
  const mbps = (bytes * 8) / seconds / 1e6;
  console.log(`recorder CPU: ${(cores * 100).toFixed(2)} % of a core at ${mbps.toFixed(2)} Mbps (${((cores * 100) / mbps).toFixed(2)} % per Mbps, ${Math.round((after.cpuS - before.cpuS) * 100)} ticks)`);
}

/** The running recorder's CPU time (utime + stime from /proc), for the per-Mbps measurement. */
function recorderCpu(streamId: number): { pid: number; cpuS: number; at: number } | undefined {
  const rec = srv.app.recordings.recorder(streamId)?.recordingId;
  if (rec === undefined) return undefined;
  const dir = join(srv.dataDir, 'recordings', String(rec));
  const run = Math.max(...runningRuns(dir));
  if (!Number.isFinite(run)) return undefined;
  const pid = Number(readFileSync(join(dir, `run-${String(run).padStart(4, '0')}.pid`), 'utf8').trim());
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { pid, cpuS: ticks / 100, at: Date.now() };
}
