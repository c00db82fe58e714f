// The studio's upload budget in Chromium (fake camera): the budget decides the
// camera's layers, what the browser really sends stays under it, the studio
// shows it, and viewers still decode the stream.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../api/src/testing/chromium.ts';
import { api, registerUser, startTestServer, type TestServer } from '../../api/src/testing/server.ts';
import { CLIENT_DIST as distDir, ensureClientBuilt } from '../../api/src/testing/browser/live-pages.ts';

let server: TestServer;
let browser: Browser;
const contexts: BrowserContext[] = [];

async function newPage(token?: string): Promise<Page> {
  const context = await browser.newContext({ baseURL: server.url, viewport: { width: 1280, height: 900 } });
  contexts.push(context);
  if (token) await context.addCookies([{ name: 'redred_session', value: token, url: server.url }]);
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
  return page;
}

/** What the studio shows it sends, read from the page (the browser's getStats, as the streamer sees it). */
async function shownUpload(studio: Page): Promise<{ bps: number; layers: number }> {
  const live = studio.getByTestId('upload-live');
  if ((await live.count()) === 0) return { bps: 0, layers: 0 };
  return { bps: Number(await live.getAttribute('data-bps')), layers: Number(await live.getAttribute('data-layers')) };
}

/** Median of `n` readings a second apart: one reading is one second of an encoder that varies. */
async function medianUpload(studio: Page, n = 7): Promise<number> {
  const readings: number[] = [];
  for (let i = 0; i < n; i++) {
    readings.push((await shownUpload(studio)).bps);
    await studio.waitForTimeout(1000);
  }
  readings.sort((a, b) => a - b);
  return readings[Math.floor(n / 2)]!;
}

async function expectMovingVideo(page: Page): Promise<void> {
  const frames = () => page.getByTestId('video').evaluate((v: HTMLVideoElement) => v.getVideoPlaybackQuality().totalVideoFrames);
  await expect.poll(frames, { timeout: 20_000 }).toBeGreaterThan(0);
  const first = await frames();
  await expect.poll(frames, { timeout: 10_000 }).toBeGreaterThan(first + 10);
}

beforeAll(async () => {
  ensureClientBuilt();
  server = await startTestServer({ clientDir: distDir });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await server?.close();
});

describe('studio upload budget', () => {
  it('0.6 Mbps sends one layer under the budget that viewers decode; 3 Mbps sends three layers', async () => {
    const ana = await registerUser(server.url, 'budgetana');
    const created = await api(server.url, 'POST', '/api/live/create', { token: ana.token, body: { title: 'on a thin uplink' } });
    const streamId = created.body.stream.id as number;
    const studio = await newPage(ana.token);
    await studio.goto('/studio');
    await studio.getByTestId('upload-budget').selectOption('600000');
    await expect.poll(() => studio.getByTestId('upload-plan').textContent()).toMatch(/^One layer: 360p/);
    const goLive = studio.getByTestId('go-live');
    await expect.poll(() => goLive.isEnabled(), { timeout: 15_000 }).toBe(true);
    await goLive.click();
    await expect.poll(() => studio.getByTestId('broadcast-state').getAttribute('data-state'), { timeout: 15_000 }).toBe('on');
    await expect.poll(async () => (await shownUpload(studio)).layers, { timeout: 15_000 }).toBe(1);
    const camera = () => server.app.rooms.get(streamId)!.media.getProducers().find((p) => p.source === 'camera');
    expect(camera()!.encodings).toBe(1);

    const viewer = await newPage();
    await viewer.goto(`/live/${streamId}`);
    await expectMovingVideo(viewer);
    await studio.waitForTimeout(3000); // the encoder ramps up to its cap
    const thin = await medianUpload(studio);
    console.log(`studio at 0.6 Mbps: ${Math.round(thin / 1000)} kbps of video in 1 layer`);
    expect(thin).toBeGreaterThan(100_000);
    expect(thin).toBeLessThan(600_000);

    await studio.getByTestId('upload-budget').selectOption('3000000');
    await expect.poll(() => studio.getByTestId('upload-plan').textContent()).toMatch(/^3 layers/);
    await expect.poll(() => camera()?.encodings, { timeout: 15_000 }).toBe(3);
    await expect.poll(async () => (await shownUpload(studio)).layers, { timeout: 30_000 }).toBe(3);
    const widths = await studio.getByTestId('upload-layer').evaluateAll((items) => items.map((i) => Number(i.getAttribute('data-width'))));
    console.log(`studio at 3 Mbps: layers ${widths.join('/')} px wide, ${Math.round((await medianUpload(studio, 5)) / 1000)} kbps`);
    expect(new Set(widths).size).toBe(3);
    await expectMovingVideo(viewer);
  }, 150_000);
});
