import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { defaultConfig } from '../config.ts';
import { buildWhipHarness } from '../testing/browser/build.ts';
import { launchChromium } from '../testing/chromium.ts';
import { api, registerUser, startTestServer, type TestServer } from '../testing/server.ts';
import { TestWsClient } from '../testing/ws-client.ts';
import { rotateKey } from './whip-testkit.ts';

// Real Chromium peers against a real server on 127.0.0.1. The encoder is not
// our code: a page with RTCPeerConnection + fetch, H.264 only, as OBS does;
// viewers are our web page (mediasoup-client) and a plain WHEP player.

type Layer = { rid: string; bytesSent: number; frameWidth: number; frameHeight: number; framesEncoded: number; qualityLimitationReason: string; encoderImplementation: string };
type WhipPage = {
  publish(o: { endpoint: string; key: string; width: number; height: number; encodings?: { rid: string; scaleResolutionDownBy: number; maxBitrate: number }[]; maxBitrate?: number }): Promise<{ status: number; location: string; answer: string; error?: string }>;
  publisherStats(): Promise<{ bytesSent: number; layers: Layer[] }>;
  stopPublishing(sendDelete: boolean): Promise<number>;
  play(endpoint: string): Promise<{ status: number; error?: string }>;
  playerStats(): Promise<{ framesDecoded: number; frameWidth: number; frameHeight: number; audioPackets: number; codec: string }>;
  latencySamples(count: number): Promise<number[]>;
  leave(): Promise<number>;
};
type Harness = {
  publish(id: number): Promise<{ producers: number }>;
  watch(id: number, layer?: string): Promise<void>;
  viewerStats(): Promise<{ videos: { source: string; framesDecoded: number; frameWidth: number; width: number; height: number }[]; audioPackets: number; resets: number }>;
  latencySamples(count: number): Promise<number[]>;
};
declare const whip: WhipPage;
declare const harness: Harness;

const GRACE_MS = 20_000;
const WIDTH = 1280;
const HEIGHT = 720;
let srv: TestServer;
let browser: Browser;
const contexts: BrowserContext[] = [];
const sockets: TestWsClient[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function newPage(path: string, ready: string, token?: string): Promise<Page> {
  const context = await browser.newContext();
  contexts.push(context);
  if (token) await context.addCookies([{ name: 'redred_session', value: token, url: srv.url }]);
  const page = await context.newPage();
  await page.goto(srv.url + path);
  await page.waitForFunction((title) => document.title === title, ready);
  return page;
}

const encoderPage = () => newPage('/whip.html', 'whip ready');
const playerPage = encoderPage;

async function webViewer(streamId: number, layer = 'auto'): Promise<Page> {
  const page = await newPage('/', 'harness ready');
  await page.evaluate(([id, l]) => harness.watch(id as number, l as string), [streamId, layer] as const);
  return page;
}

/** Polls until `check` passes (frames take a moment to start); fails with the last value. */
async function until<T>(read: () => Promise<T>, check: (v: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: ${JSON.stringify(value)}`);
    await sleep(250);
  }
}

const cameraOf = async (page: Page) => (await page.evaluate(() => harness.viewerStats())).videos.find((v) => v.source === 'camera');
const webFrames = async (page: Page, min = 10) => (await until(() => cameraOf(page), (v) => (v?.framesDecoded ?? 0) >= min && (v?.frameWidth ?? 0) > 0, 'web viewer frames'))!;
const playerFrames = (page: Page, min = 10) => until(() => page.evaluate(() => whip.playerStats()), (s) => s.framesDecoded >= min && s.frameWidth > 0, 'WHEP player frames');

/** Median of `windows` consecutive upload rates (bytes/s): one encoder dip does not decide. */
async function uploadRate(encoder: Page, windowMs = 2000, windows = 4): Promise<number> {
  const rates: number[] = [];
  let a = (await encoder.evaluate(() => whip.publisherStats())).bytesSent;
  for (let i = 0; i < windows; i++) {
    await sleep(windowMs);
    const b = (await encoder.evaluate(() => whip.publisherStats())).bytesSent;
    rates.push(((b - a) * 1000) / windowMs);
    a = b;
  }
  return median(rates);
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = (sorted.length - 1) / 2;
  return (sorted[Math.floor(mid)]! + sorted[Math.ceil(mid)]!) / 2;
}

async function streamer(name: string) {
  const user = await registerUser(srv.url, name);
  return { ...user, key: await rotateKey(srv, user.token) };
}

async function mine(token: string): Promise<{ id: number; status: string }> {
  return (await api(srv.url, 'GET', '/api/live/mine', { token })).body.stream;
}

beforeAll(async () => {
  const clientDir = await buildWhipHarness();
  srv = await startTestServer({ clientDir, mediasoupWorkers: 2, sweeper: { ...defaultConfig().sweeper, restartGraceMs: GRACE_MS, streamerGoneMs: GRACE_MS } });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  for (const s of sockets) await s.close();
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await srv?.close();
});

describe('an OBS-like encoder (RTCPeerConnection + fetch, H.264 only) publishing over WHIP', () => {
  let ana: Awaited<ReturnType<typeof streamer>>;
  let encoder: Page;
  let streamId: number;
  const viewers: Page[] = [];

  it('goes live with one H.264 layer; web viewers and a WHEP player decode it; chat and viewer counts work', async () => {
    ana = await streamer('obsana');
    encoder = await encoderPage();
    const published = await encoder.evaluate((o) => whip.publish(o), { endpoint: `${srv.url}/api/whip`, key: ana.key, width: WIDTH, height: HEIGHT });
    expect(published.status).toBe(201);
    expect(published.answer).toMatch(/a=rtpmap:\d+ H264\/90000/);
    const stream = await mine(ana.token);
    streamId = stream.id;
    expect(stream.status).toBe('live');
    const camera = srv.app.rooms.get(streamId)!.media.getProducers().find((p) => p.source === 'camera')!;
    expect(camera.encodings).toBe(1);

    const web = await webViewer(streamId);
    viewers.push(web);
    const first = await webFrames(web);
    const player = await playerPage();
    viewers.push(player);
    expect((await player.evaluate((url) => whip.play(url), `${srv.url}/api/whep/${streamId}`)).status).toBe(201);
    const played = await playerFrames(player);
    expect(played.codec).toBe('video/H264');
    // The player gets the frames the encoder sends, at their size (which Chromium may lower while its
    // bandwidth estimate ramps up, or when the shared box is busy).
    await until(
      async () => ({ played: await player.evaluate(() => whip.playerStats()), sent: (await encoder.evaluate(() => whip.publisherStats())).layers[0] }),
      ({ played, sent }) => played.frameWidth > 0 && played.frameWidth === sent?.frameWidth && played.frameHeight === sent.frameHeight,
      'WHEP player frame size = encoder frame size',
    );
    expect((await player.evaluate(() => whip.playerStats())).audioPackets).toBeGreaterThan(0);
    const later = await webFrames(web, first.framesDecoded + 10);
    expect(later.framesDecoded).toBeGreaterThan(first.framesDecoded);

    // Chat and counts are the stream's, whatever published it.
    const bea = await registerUser(srv.url, 'obsbea');
    const chatter = await TestWsClient.connect(srv.wsUrl(streamId), { token: bea.token });
    sockets.push(chatter);
    await chatter.waitFor('chat_history');
    expect((await chatter.request({ type: 'comment', content: 'hello OBS' })).type).toBe('comment_ack');
    await srv.app.rooms.get(streamId)!.flushPresence();
    // The web viewer, the WHEP player and the chatter; the encoder is not a viewer.
    expect(srv.app.rooms.get(streamId)!.viewers.count).toBe(3);
    const stats = await api(srv.url, 'GET', `/api/live/${streamId}/stats`);
    expect(stats.body.stats).toMatchObject({ status: 'live', viewers: 3, commentsCount: 1 });
  }, 90_000);

  it('glass-to-glass latency, WHIP → web viewer and WHIP → WHEP player (median of 20 samples)', async () => {
    const player = await playerPage();
    expect((await player.evaluate((url) => whip.play(url), `${srv.url}/api/whep/${streamId}`)).status).toBe(201);
    await playerFrames(player);
    const web = await webViewer(streamId);
    await webFrames(web);
    const whep = await player.evaluate(() => whip.latencySamples(20));
    const page = await web.evaluate(() => harness.latencySamples(20));
    const report = (xs: number[]) => `median ${median(xs).toFixed(0)} ms (min ${Math.min(...xs)}, max ${Math.max(...xs)}, n ${xs.length})`;
    console.log(`glass-to-glass WHIP → WHEP player: ${report(whep)}`);
    console.log(`glass-to-glass WHIP → web viewer: ${report(page)}`);
    expect(whep).toHaveLength(20);
    expect(page).toHaveLength(20);
    // A sanity bound on what was read, not a speed target: the codes decode to recent times.
    for (const ms of [...whep, ...page]) expect(ms).toBeGreaterThanOrEqual(0);
    await player.context().close();
    await web.context().close();
  }, 90_000);

  it('OBS dropping without DELETE: viewers see reconnecting, and the encoder coming back resumes the same stream', async () => {
    const watcher = await TestWsClient.connect(srv.wsUrl(streamId));
    sockets.push(watcher);
    await watcher.waitFor('connection_established');
    await encoder.evaluate(() => whip.stopPublishing(false));
    const reconnecting = await watcher.waitFor('publisher_status', (m) => m.status === 'reconnecting');
    expect(reconnecting.until).not.toBeNull();
    const again = await encoder.evaluate((o) => whip.publish(o), { endpoint: `${srv.url}/api/whip`, key: ana.key, width: WIDTH, height: HEIGHT });
    expect(again.status).toBe(201);
    await watcher.waitFor('publisher_status', (m) => m.status === 'publishing');
    expect(await mine(ana.token)).toMatchObject({ id: streamId, status: 'live' });
    // A viewer joining now decodes the resumed stream.
    const fresh = await webViewer(streamId);
    await webFrames(fresh);
    expect(await encoder.evaluate(() => whip.stopPublishing(true))).toBe(200);
  }, 90_000);
});

describe('simulcast from the encoder: 3 rids listed out of quality order', () => {
  let simulcast: { encoder: Page; id: number; viewers: Page[] } | undefined;
  // 'a' is full size, 'b' a quarter, 'c' half: neither the names nor the order tell.
  const ENCODINGS = [
    { rid: 'a', scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
    { rid: 'b', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
    { rid: 'c', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  ];

  it('orders the layers by what they carry, so pinned viewers get the frame size they asked for', async () => {
    const cy = await streamer('obscy');
    const encoder = await encoderPage();
    const published = await encoder.evaluate((o) => whip.publish(o), { endpoint: `${srv.url}/api/whip`, key: cy.key, width: WIDTH, height: HEIGHT, encodings: ENCODINGS });
    expect(published.status).toBe(201);
    expect(published.answer).toContain('a=simulcast:recv a;b;c');
    const { id } = await mine(cy.token);
    const session = srv.app.whip.sessions.whipOfChannel(cy.id)!;
    await until(async () => session.layersSettled, Boolean, 'layer order settled', 30_000);
    expect(session.layerOrder).toEqual(['b', 'c', 'a']);
    const sent = await encoder.evaluate(() => whip.publisherStats());
    console.log(`encoder layers: ${sent.layers.map((l) => `${l.rid} ${l.frameWidth}x${l.frameHeight} (limited by ${l.qualityLimitationReason})`).join(', ')}`);

    const low = await webViewer(id, 'low');
    const high = await webViewer(id, 'high');
    const player = await playerPage();
    expect((await player.evaluate((url) => whip.play(url), `${srv.url}/api/whep/${id}?layer=low`)).status).toBe(201);
    const lowFrames = await until(() => cameraOf(low), (v) => (v?.framesDecoded ?? 0) > 30 && v!.frameWidth > 0 && v!.frameWidth <= WIDTH / 4, 'low layer frames');
    const highFrames = await until(() => cameraOf(high), (v) => (v?.framesDecoded ?? 0) > 30 && v!.frameWidth === WIDTH, 'high layer frames');
    const whepLow = await until(() => player.evaluate(() => whip.playerStats()), (s) => s.framesDecoded > 30 && s.frameWidth > 0 && s.frameWidth <= WIDTH / 4, 'WHEP low layer');
    console.log(`pinned: web low ${lowFrames!.frameWidth}px, web high ${highFrames!.frameWidth}px, WHEP low ${whepLow.frameWidth}px`);
    expect(lowFrames!.frameWidth).toBe(WIDTH / 4);
    expect(whepLow.frameWidth).toBe(WIDTH / 4);
    expect(srv.app.rooms.get(id)!.media.getProducers().find((p) => p.source === 'camera')!.encodings).toBe(3);
    await player.context().close();
    await low.context().close();
    simulcast = { encoder, id, viewers: [high] };
  }, 120_000);

  it("keeps the encoder's upload flat from 1 to 4 viewers", async () => {
    const { encoder, id, viewers } = simulcast!;
    await sleep(4000); // the encoder's bandwidth estimate settles with one viewer
    const one = await uploadRate(encoder);
    // The extra viewers watch the low layer: the encoder sends every layer whatever viewers pick, and
    // cheap decoding keeps Chromium's encoder (same 2-core box) from adapting to CPU load.
    for (let i = 0; i < 3; i++) viewers.push(await webViewer(id, 'low'));
    for (const page of viewers) await webFrames(page);
    await sleep(2000);
    const four = await uploadRate(encoder);
    const diff = Math.abs(four - one) / one;
    console.log(`WHIP encoder upload (3 layers): 1 viewer ${((one * 8) / 1000).toFixed(0)} kbps, 4 viewers ${((four * 8) / 1000).toFixed(0)} kbps, diff ${(diff * 100).toFixed(1)} %`);
    expect(one).toBeGreaterThan(100_000 / 8);
    expect(diff).toBeLessThan(0.15);
  }, 120_000);
});

describe('WHEP playback of a stream published from the browser studio', () => {
  it('a plain RTCPeerConnection player decodes the VP8 simulcast camera', async () => {
    const di = await registerUser(srv.url, 'studiodi');
    const created = await api(srv.url, 'POST', '/api/live/create', { token: di.token, body: { title: 'from the studio' } });
    const id = created.body.stream.id as number;
    const studio = await newPage('/', 'harness ready', di.token);
    await studio.evaluate((streamId) => harness.publish(streamId), id);
    const player = await playerPage();
    expect((await player.evaluate((url) => whip.play(url), `${srv.url}/api/whep/${id}`)).status).toBe(201);
    const frames = await playerFrames(player);
    expect(frames.codec).toBe('video/VP8');
    expect(frames.frameWidth).toBeGreaterThan(0);
    expect(await player.evaluate(() => whip.leave())).toBe(200);
    // The studio keeps the stream: an encoder is refused while it publishes.
    const key = await rotateKey(srv, di.token);
    const encoder = await encoderPage();
    const refused = await encoder.evaluate((o) => whip.publish(o), { endpoint: `${srv.url}/api/whip`, key, width: 640, height: 360 });
    expect(refused.status).toBe(409);
  }, 90_000);
});
