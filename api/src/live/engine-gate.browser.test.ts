import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { version as mediasoupVersion } from 'mediasoup';
// The load generator's decrypting viewer, reused as it is: werift checks every VP8 packet it decrypts.
import { LoadViewer } from '../../../load-tests/src/viewer.ts';
import { buildMediaHarness } from '../testing/browser/build.ts';
import { launchChromium } from '../testing/chromium.ts';
import { openHarnessPage, publishFromHarness } from '../testing/browser/pages.ts';
import { startTestServer, type TestServer } from '../testing/server.ts';

// The real-browser gate of the media engine (sfu/engine/README.md): the mediasoup
// worker this checkout built, driven by real Chromium through the server. A worker
// can pass every unit test and still fail here: DTLS with Chromium, SRTP with the
// cipher Chromium picks, and bandwidth estimation ramping up to the top simulcast
// layer are only exercised by a real browser (3.19/3.27 built from Debian's
// libraries crashed on the first DTLS packet, then never sent the top layer).

type Video = { source: string; framesDecoded: number; frameWidth: number; frameHeight: number };
type Harness = {
  watch(id: number, layer?: string, iceProtocol?: 'udp' | 'tcp'): Promise<void>;
  viewerStats(): Promise<{ videos: Video[]; audioPackets: number }>;
  viewerRoute(): Promise<{ protocol: string; remotePort: number; srtpCipher: string } | null>;
};
declare const harness: Harness;

/** Chrome's encoder ramps up to the top layer within ~6 s on an idle box; a busy 2-core box needs more. */
const TOP_LAYER_TIMEOUT_MS = 30_000;

let srv: TestServer;
let browser: Browser;
let streamId: number;
const contexts: BrowserContext[] = [];

async function openPage(): Promise<Page> {
  const page = await openHarnessPage(browser, srv.url);
  contexts.push(page.context());
  return page;
}

async function camera(page: Page): Promise<Video | undefined> {
  const stats = await page.evaluate(() => harness.viewerStats());
  return stats.videos.find((v) => v.source === 'camera');
}

/** The worker's WebRtcServer ports (one worker here, so every transport is on them). */
function serverPorts(): { udp: number; tcp: number } {
  const [ports, ...others] = srv.app.sfu.pool.mediaPorts();
  if (!ports || others.length > 0) throw new Error('expected exactly one worker');
  return ports;
}

/** Waits for the top layer, then for 30 more decoded frames of it: video flowing, not one keyframe. */
async function expectTopLayerFlowing(page: Page): Promise<void> {
  await expect
    .poll(() => camera(page), { timeout: TOP_LAYER_TIMEOUT_MS, interval: 250 })
    .toMatchObject({ frameWidth: 1280, frameHeight: 720 });
  const before = (await camera(page))!.framesDecoded;
  await expect.poll(async () => (await camera(page))!.framesDecoded, { timeout: 10_000, interval: 250 }).toBeGreaterThan(before + 30);
  expect(await camera(page)).toMatchObject({ frameWidth: 1280, frameHeight: 720 });
}

beforeAll(async () => {
  const clientDir = await buildMediaHarness();
  srv = await startTestServer({ clientDir, mediasoupWorkers: 1 });
  browser = await launchChromium();
  ({ streamId } = await publishFromHarness(browser, srv.url, 'gate-streamer', 'engine gate'));
  console.log(`engine gate: mediasoup ${mediasoupVersion}, worker ${process.env.MEDIASOUP_WORKER_BIN ?? 'built by setup'}, ports ${JSON.stringify(serverPorts())}`);
}, 60_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await srv?.close();
});

describe('engine gate: real Chromium through the server', () => {
  it('publishes three simulcast layers', () => {
    const camera = srv.app.rooms.get(streamId)!.media.getProducers().find((p) => p.source === 'camera')!;
    expect(camera.encodings).toBe(3);
  });

  it("a viewer decodes the top layer (1280×720) over UDP on the worker's WebRtcServer port, with AES-256-GCM", async () => {
    const page = await openPage();
    await page.evaluate((id) => harness.watch(id, 'high'), streamId);

    await expectTopLayerFlowing(page);

    expect(await page.evaluate(() => harness.viewerRoute())).toEqual({
      protocol: 'udp',
      remotePort: serverPorts().udp,
      srtpCipher: 'SRTP_AEAD_AES_256_GCM',
    });
    expect((await page.evaluate(() => harness.viewerStats())).audioPackets).toBeGreaterThan(0);
  }, 60_000);

  it("a viewer whose network allows only TCP decodes the top layer over the worker's TCP port", async () => {
    const page = await openPage();
    await page.evaluate((id) => harness.watch(id, 'high', 'tcp'), streamId);

    await expectTopLayerFlowing(page);

    expect(await page.evaluate(() => harness.viewerRoute())).toMatchObject({ protocol: 'tcp', remotePort: serverPorts().tcp });
  }, 60_000);

  it('a decrypting werift viewer validates VP8 keyframes of the top layer, every packet parsing', async () => {
    const viewer = new LoadViewer({ index: 0, wsUrl: srv.wsUrl(streamId), mode: 'decrypt', localAddress: '127.0.0.1', layer: 'high' });
    try {
      await viewer.join();
      expect(viewer.result().error).toBeNull();

      await expect
        .poll(() => viewer.result().decrypt!.keyframesValid, { timeout: TOP_LAYER_TIMEOUT_MS, interval: 250 })
        .toBeGreaterThan(0);
      await expect.poll(() => viewer.result().decrypt!.framesValid, { timeout: 10_000, interval: 250 }).toBeGreaterThan(30);

      const decrypt = viewer.result().decrypt!;
      expect({ width: decrypt.width, height: decrypt.height, invalidPackets: decrypt.invalidPackets }).toEqual({
        width: 1280,
        height: 720,
        invalidPackets: 0,
      });
      expect(decrypt.audioPackets).toBeGreaterThan(0);
    } finally {
      await viewer.close();
    }
  }, 60_000);
});
