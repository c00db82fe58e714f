import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildMediaHarness } from '../testing/browser/build.ts';
import { launchChromium } from '../testing/chromium.ts';
import { openHarnessPage, publishFromHarness } from '../testing/browser/pages.ts';
import { api, startTestServer, type TestServer } from '../testing/server.ts';

// Real server, real mediasoup workers, real Chromium peers on 127.0.0.1.
let srv: TestServer;
let browser: Browser;
let streamId: number;
let streamerPage: Page;
const contexts: BrowserContext[] = [];

type Harness = {
  shareScreen(): Promise<string>;
  streamerVideoBytesSent(): Promise<number>;
  watch(id: number, layer?: string): Promise<void>;
  viewerStats(): Promise<{ videos: { source: string; framesDecoded: number; frameWidth: number; width: number; height: number }[]; audioPackets: number; resets: number }>;
  endStream(): Promise<void>;
};
declare const harness: Harness;

async function openPage(): Promise<Page> {
  const page = await openHarnessPage(browser, srv.url);
  contexts.push(page.context());
  return page;
}

async function openViewer(layer = 'auto'): Promise<Page> {
  const page = await openPage();
  await page.evaluate(([id, l]) => harness.watch(id as number, l as string), [streamId, layer] as const);
  return page;
}

const stats = (page: Page) => page.evaluate(() => harness.viewerStats());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForFrames(page: Page, source = 'camera', min = 10, timeoutMs = 15_000): Promise<{ framesDecoded: number; frameWidth: number; width: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await stats(page);
    const v = s.videos.find((x) => x.source === source);
    if (v && v.framesDecoded >= min && v.width > 0) return v;
    if (Date.now() > deadline) throw new Error(`no ${source} frames: ${JSON.stringify(s)}`);
    await sleep(250);
  }
}

/** Median of `windows` consecutive rates: one transient encoder dip does not decide the result. */
async function uploadRate(windowMs: number, windows = 4): Promise<number> {
  const rates: number[] = [];
  let a = await streamerPage.evaluate(() => harness.streamerVideoBytesSent());
  for (let i = 0; i < windows; i++) {
    await sleep(windowMs);
    const b = await streamerPage.evaluate(() => harness.streamerVideoBytesSent());
    rates.push(((b - a) * 1000) / windowMs);
    a = b;
  }
  rates.sort((x, y) => x - y);
  return (rates[Math.floor((windows - 1) / 2)]! + rates[Math.ceil((windows - 1) / 2)]!) / 2;
}

beforeAll(async () => {
  const clientDir = await buildMediaHarness();
  srv = await startTestServer({ clientDir, mediasoupWorkers: 2, maxConsumersPerRouter: 4 });
  browser = await launchChromium();
  ({ streamId, page: streamerPage } = await publishFromHarness(browser, srv.url, 'streamer1', 'media test'));
  contexts.push(streamerPage.context());
}, 60_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await srv?.close();
});

describe('one upload, many viewers, in real Chromium', () => {
  const viewers: Page[] = [];

  it('goes live when the streamer publishes, with 3 simulcast encodings on the camera producer', async () => {
    const stream = await api(srv.url, 'GET', `/api/live/${streamId}`);
    expect(stream.body.stream.status).toBe('live');
    const room = srv.app.rooms.get(streamId)!;
    const camera = room.media.getProducers().find((p) => p.source === 'camera')!;
    expect(camera.kind).toBe('video');
    expect(camera.encodings).toBe(3);
    expect(room.media.getProducers().map((p) => p.source).sort()).toEqual(['camera', 'microphone']);
  });

  it('two viewers decode moving video and receive audio', async () => {
    viewers.push(await openViewer(), await openViewer());
    for (const page of viewers) {
      const first = await waitForFrames(page);
      await sleep(1000);
      const later = (await stats(page)).videos.find((v) => v.source === 'camera')!;
      expect(later.framesDecoded).toBeGreaterThan(first.framesDecoded);
      expect(later.width).toBeGreaterThan(0);
      expect((await stats(page)).audioPackets).toBeGreaterThan(0);
    }
  });

  it("keeps the streamer's upload flat from 1 to 4 viewers", async () => {
    await viewers.pop()!.context().close();
    await sleep(6000); // let the encoder's bandwidth estimate settle
    const one = await uploadRate(2500);
    // The extra viewers watch the low layer: the streamer sends all three layers
    // whatever viewers pick, and cheap decoding keeps Chrome's encoder from
    // adapting to CPU load on a 2-core box (which would change the upload for
    // reasons that have nothing to do with the SFU).
    viewers.push(await openViewer('low'), await openViewer('low'), await openViewer('low'));
    for (const page of viewers) await waitForFrames(page);
    await sleep(2000);
    const four = await uploadRate(2500);
    const diff = Math.abs(four - one) / one;
    console.log(`streamer video upload: 1 viewer ${(one * 8 / 1000).toFixed(0)} kbps, 4 viewers ${(four * 8 / 1000).toFixed(0)} kbps, diff ${(diff * 100).toFixed(1)} %`);
    expect(one).toBeGreaterThan(50_000 / 8);
    expect(diff).toBeLessThan(0.1);
  }, 120_000);

  it('fans out past the per-router threshold with pipeToRouter while the upload stays one', async () => {
    // maxConsumersPerRouter is 4 here: 4 viewers × 2 consumers cannot fit one router.
    const counts = srv.app.rooms.get(streamId)!.media.counts();
    expect(counts.routers).toBeGreaterThan(1);
    expect(counts.consumersPerRouter.every((n) => n <= 4)).toBe(true);
    const sendTransports = srv.app.rooms.get(streamId)!.media.getProducers().length;
    expect(sendTransports).toBe(2);
  });

  it('a viewer pinned to low gets a smaller frame than one pinned to high', async () => {
    const low = await openViewer('low');
    const high = await openViewer('high');
    await waitForFrames(low, 'camera', 30);
    await waitForFrames(high, 'camera', 30);
    await sleep(3000);
    const lowWidth = (await stats(low)).videos.find((v) => v.source === 'camera')!.frameWidth;
    const highWidth = (await stats(high)).videos.find((v) => v.source === 'camera')!.frameWidth;
    console.log(`pinned layers: low ${lowWidth}px, high ${highWidth}px`);
    expect(lowWidth).toBeGreaterThan(0);
    expect(highWidth).toBeGreaterThan(lowWidth);
    await low.context().close();
    await high.context().close();
  });

  it('viewers receive a screen share added while live', async () => {
    await streamerPage.evaluate(() => harness.shareScreen());
    const v = await waitForFrames(viewers[0]!, 'screen', 5);
    expect(v.width).toBeGreaterThan(0);
  });

  it('recovers from a SIGKILLed mediasoup worker without a server restart', async () => {
    const room = srv.app.rooms.get(streamId)!;
    const placement = room.media.placement();
    const pids = [placement.origin.workerPid, ...placement.fanout.map((f) => f.workerPid)];
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    const t0 = Date.now();
    const page = viewers[0]!;
    for (;;) {
      const s = await stats(page);
      const cam = s.videos.find((v) => v.source === 'camera');
      if (s.resets > 0 && cam && cam.framesDecoded > 10) break;
      if (Date.now() - t0 > 10_000) throw new Error(`no frames 10 s after the worker died: ${JSON.stringify(s)}`);
      await sleep(250);
    }
    console.log(`frames again ${Date.now() - t0} ms after SIGKILL of the worker`);
    expect((await api(srv.url, 'GET', '/health')).status).toBe(200);
  });

  it('ends the stream for every viewer', async () => {
    await streamerPage.evaluate(() => harness.endStream());
    const s = await api(srv.url, 'GET', `/api/live/${streamId}`);
    expect(s.body.stream.status).toBe('ended');
    expect(srv.app.rooms.get(streamId)).toBeUndefined();
  });
});
