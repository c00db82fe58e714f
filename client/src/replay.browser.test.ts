// Recording in the web client, in Debian's Chromium against a real server: the studio's
// "record this stream" choice and channel default, and the replay on an ended stream's page
// (a real VP8/Opus WebM made by Debian's ffmpeg, served with range requests).
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStream, insertComments, openRecording, softDeleteComment, transitionStream, updateRecording } from '@redred/db';
import { CLIENT_DIST, ensureClientBuilt } from '../../api/src/testing/browser/live-pages.ts';
import { launchChromium } from '../../api/src/testing/chromium.ts';
import { requireBinary } from '../../api/src/testing/owned-process.ts';
import { registerUser, startTestServer, type TestServer } from '../../api/src/testing/server.ts';
import { finalFile, recordingDir } from '../../api/src/recording/store.ts';

let server: TestServer;
let browser: Browser;
const contexts: BrowserContext[] = [];

async function pageAs(token: string): Promise<Page> {
  const context = await browser.newContext({ baseURL: server.url, viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  await context.addCookies([{ name: 'redred_session', value: token, url: server.url }]);
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
  return page;
}

beforeAll(async () => {
  requireBinary('ffmpeg');
  ensureClientBuilt();
  server = await startTestServer({ clientDir: CLIENT_DIST });
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await server?.close();
});

describe('recording in the web client', () => {
  it('studio: "record this stream" starts from the channel default and is sent with the new stream', async () => {
    const user = await registerUser(server.url, 'studiorec');
    const page = await pageAs(user.token);
    await page.goto('/studio');
    const record = page.getByTestId('record-stream');
    await record.waitFor();
    expect(await record.isChecked()).toBe(false);
    const saved = page.waitForResponse((r) => r.url().endsWith('/api/recording-settings') && r.request().method() === 'PUT');
    await page.getByTestId('record-by-default').check();
    expect((await saved).status()).toBe(200);
    await page.reload();
    await expect.poll(() => page.getByTestId('record-stream').isChecked()).toBe(true);
    await page.getByTestId('record-stream').uncheck();
    await page.getByTestId('record-stream').check();
    await page.getByTestId('stream-title-input').fill('recorded class');
    const created = page.waitForResponse((r) => r.url().endsWith('/api/live/create/'));
    await page.getByTestId('create-stream').click();
    const body = (await (await created).json()) as { stream: { id: number } };
    const row = await server.app.db.selectFrom('live_streams').select('record').where('id', '=', body.stream.id).executeTakeFirstOrThrow();
    expect(row.record).toBe(1);
  }, 60_000);

  it('an ended stream\'s page plays its recording, shows length and size, seeks, and lists the channel\'s past streams', async () => {
    const user = await registerUser(server.url, 'replayer');
    const db = server.app.db;
    const t = Date.now() - 3_600_000;
    const stream = await createStream(db, { streamerId: user.id, title: 'yesterday\'s class', description: '', now: t });
    if (!stream.ok) throw new Error('stream');
    await transitionStream(db, stream.stream.id, 'live', { now: t });
    await transitionStream(db, stream.stream.id, 'ended', { now: t + 6000, reason: 'streamer_ended' });
    const rec = await openRecording(db, { streamId: stream.stream.id, channelId: user.id, container: 'webm', now: t });
    const recordingsDir = server.app.recordings.ctx.recordingsDir;
    mkdirSync(recordingDir(recordingsDir, rec.id), { recursive: true });
    const file = finalFile(recordingsDir, rec.id, 'webm');
    // Six seconds of VP8 + Opus, as a recorder would have written from a browser's upload.
    const made = spawnSync(requireBinary('ffmpeg'), ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=30:duration=6', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=6', '-c:v', 'libvpx', '-b:v', '500k', '-g', '30', '-c:a', 'libopus', '-shortest', file]);
    expect(made.status, made.stderr?.toString()).toBe(0);
    const { size } = await import('node:fs').then((fs) => fs.statSync(file));
    // Two runs: 3 s from t, then (the recorder restarted) 3 s from t + 4.5 s; the file closes the 1.5 s gap up (the stream's end is not what is tested here).
    const timeline = JSON.stringify([{ wallMs: t, mediaMs: 0, durationMs: 3000 }, { wallMs: t + 4500, mediaMs: 3000, durationMs: 3000 }]);
    await updateRecording(db, rec.id, { status: 'ready', ended_at: t + 6000, duration_ms: 6000, size_bytes: size, segments: 2, timeline });

    // Chat written 1 s and 5 s after the recording started (the second at 3.5 s in the file), and one comment a moderator removed.
    const [early, , removed] = await insertComments(db, [
      { streamId: stream.stream.id, userId: user.id, content: 'hello <b>class</b>', highlighted: false, now: t + 1000 },
      { streamId: stream.stream.id, userId: user.id, content: 'last question', highlighted: false, now: t + 5000 },
      { streamId: stream.stream.id, userId: user.id, content: 'removed', highlighted: false, now: t + 2000 },
    ]);
    await softDeleteComment(db, { commentId: removed!.id, streamId: stream.stream.id, deletedBy: user.id, now: t + 3000 });
    expect(early).toBeDefined();

    const page = await pageAs(user.token);
    const ranges: number[] = [];
    page.on('response', (r) => {
      if (r.url().endsWith(`/api/recordings/${rec.id}/file`)) ranges.push(r.status());
    });
    await page.goto(`/live/${stream.stream.id}`);
    await page.getByTestId('replay-video').waitFor();
    expect(await page.getByTestId('replay-duration').textContent()).toBe('0:06');
    expect(await page.getByTestId('replay-size').textContent()).toMatch(/^\d+(\.\d)? KB$/);
    const played = await page.getByTestId('replay-video').evaluate(async (el) => {
      const video = el as HTMLVideoElement;
      video.muted = true;
      if (video.readyState < 1) await new Promise((r) => (video.onloadedmetadata = r));
      video.currentTime = 4;
      await new Promise((r) => (video.onseeked = r));
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      const atFour = [...document.querySelectorAll('[data-testid="replay-comment"]')].map((e) => e.textContent);
      await video.play();
      await new Promise<void>((resolve) => (video.onended = () => resolve()));
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      const atEnd = [...document.querySelectorAll('[data-testid="replay-comment"]')].map((e) => e.textContent);
      return { duration: video.duration, ended: video.ended, width: video.videoWidth, atFour, atEnd };
    });
    expect(played.ended).toBe(true);
    expect(Math.round(played.duration)).toBe(6);
    expect(played.width).toBe(640);
    expect(ranges).toContain(206);
    // Chat replay follows the playback position in the file, across the gap; the removed comment never shows; markup stays text.
    expect(played.atFour).toEqual(['0:01 replayer hello <b>class</b>', '0:03 replayer last question']);
    expect(played.atEnd).toEqual(['0:01 replayer hello <b>class</b>', '0:03 replayer last question']);
    const items = page.getByTestId('recording-item');
    await items.first().waitFor();
    expect(await items.count()).toBe(1);
    expect(await items.first().textContent()).toContain('yesterday\'s class');
  }, 60_000);
});
