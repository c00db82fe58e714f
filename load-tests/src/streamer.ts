import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { ServerMessage } from '@redred/api/protocol';
import type { PublishInfo, PublishOptions, UploadStats, WhipPublishOptions } from './browser/publisher.ts';
import { RequestError, SignalingClient } from './signaling.ts';
import { nowMs } from './stats.ts';

export interface StreamerOptions {
  wsUrl: string;
  token: string;
  width: number;
  height: number;
  fps: number;
  /** Top simulcast layer's maxBitrate (kbps); the middle and low layers get 1/3 and 1/9 of it. */
  videoKbps: number;
  audio: boolean;
  /** 'whip': publish as OBS does (see LoadOptions.publisher); needs the server's HTTP URL. */
  publisher: { kind: 'mediasoup' } | { kind: 'whip'; httpUrl: string; codec: 'vp8' | 'h264' };
  chromiumPath: string;
  /** Log lines from the page (errors) and the bridge. */
  log: (line: string) => void;
}

export interface UploadSample extends UploadStats {
  /** Node-side receive time (epoch ms). */
  sampledAt: number;
}

/** Flags of a headless, quiet Chromium with fake capture devices (the fake camera runs at 20 fps unless told). */
export const chromiumArgs = (fps: number) => [
  '--no-sandbox',
  `--use-fake-device-for-media-stream=fps=${fps}`,
  '--use-fake-ui-for-media-stream',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  // A hidden page must keep capturing and encoding at full rate.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

let bundle: Promise<string> | null = null;

/** mediasoup-client and the publisher page script as one browser bundle (built once per process). */
function publisherBundle(): Promise<string> {
  bundle ??= build({
    entryPoints: [fileURLToPath(new URL('./browser/publisher.ts', import.meta.url))],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
  }).then((r) => r.outputFiles[0]!.text);
  return bundle;
}

/** Serves the publisher page on 127.0.0.1 (a secure context, so getUserMedia works). */
async function servePage(script: string): Promise<{ server: Server; url: string }> {
  const html = '<!doctype html><meta charset="utf-8"><title>load-test publisher</title><script src="/publisher.js"></script>';
  const server = createServer((req, res) => {
    if (req.url === '/publisher.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    } else {
      res.writeHead(200, { 'content-type': 'text/html' }).end(html);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

/**
 * The streamer: headless Chromium publishing VP8 in three simulcast layers and
 * Opus through mediasoup-client, the way the web client does. The page's
 * signaling goes through `exposeFunction` to a Node WebSocket holding the
 * streamer's bearer token.
 */
export class Streamer {
  readonly info: PublishInfo;
  /** The latest `viewers_update` the streamer's socket received. */
  serverViewers: number | null = null;
  mediaResets = 0;
  readonly #browser: Browser;
  readonly #page: Page;
  readonly #http: Server;
  readonly #sig: SignalingClient;
  #closed = false;

  private constructor(browser: Browser, page: Page, http: Server, sig: SignalingClient, info: PublishInfo) {
    this.#browser = browser;
    this.#page = page;
    this.#http = http;
    this.#sig = sig;
    this.info = info;
  }

  static async start(o: StreamerOptions): Promise<Streamer> {
    const [script, sig] = await Promise.all([publisherBundle(), SignalingClient.connect(o.wsUrl, { token: o.token })]);
    const established = await sig.established;
    if (established.role !== 'streamer') {
      sig.close();
      throw new Error(`the token is not the stream's streamer (role ${established.role})`);
    }
    const { server, url } = await servePage(script);
    let browser: Browser | null = null;
    try {
      browser = await chromium.launch({ executablePath: o.chromiumPath, headless: true, args: chromiumArgs(o.fps) });
      const page = await browser.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error') o.log(`streamer page: ${m.text()}`);
      });
      page.on('pageerror', (e) => o.log(`streamer page error: ${e.message}`));
      await page.exposeFunction('__signal', async (json: string) => {
        try {
          const reply = await sig.request(JSON.parse(json) as Parameters<SignalingClient['request']>[0]);
          return JSON.stringify({ ok: true, reply });
        } catch (err) {
          return JSON.stringify({ ok: false, error: err instanceof RequestError ? err.message : String(err) });
        }
      });
      await page.goto(url);
      const kbps = o.videoKbps * 1000;
      const options: PublishOptions = {
        routerRtpCapabilities: established.routerRtpCapabilities,
        width: o.width,
        height: o.height,
        fps: o.fps,
        layerBitrates: [Math.round(kbps / 9), Math.round(kbps / 3), kbps],
        audio: o.audio,
      };
      const info =
        o.publisher.kind === 'whip'
          ? await publishOverWhip(page, o.publisher, o.token, options)
          : await page.evaluate((opts) => (globalThis as unknown as { __publisher: { publish(o: PublishOptions): Promise<PublishInfo> } }).__publisher.publish(opts), options);
      const streamer = new Streamer(browser, page, server, sig, info);
      sig.onRaw = (text) => {
        if (text.startsWith('{"type":"viewers_update"')) {
          streamer.serverViewers = (JSON.parse(text) as { viewers: number }).viewers;
          return true;
        }
        return text.startsWith('{"type":"comment",');
      };
      sig.onMessage = (msg: ServerMessage) => {
        if (msg.type === 'media_reset') {
          streamer.mediaResets++;
          o.log(`streamer: media_reset (${msg.reason}); the run's media figures after this point are not comparable`);
        }
      };
      return streamer;
    } catch (err) {
      sig.close();
      server.close();
      await browser?.close().catch(() => {});
      throw err;
    }
  }

  async sample(): Promise<UploadSample> {
    const stats = await this.#page.evaluate(() => (globalThis as unknown as { __publisher: { uploadStats(): Promise<UploadStats> } }).__publisher.uploadStats());
    return { ...stats, sampledAt: nowMs() };
  }

  /** Asks the server to end the stream (only when this run created it). */
  async endStream(): Promise<void> {
    if (this.#sig.closed) return;
    await this.#sig.request({ type: 'end_stream' }, 5000).catch(() => {});
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#sig.close();
    await Promise.race([this.#browser.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000).unref())]);
    this.#http.close();
    this.#http.closeAllConnections();
  }
}

/** The OBS path: a fresh stream key from the studio's REST call, then POST /api/whip from the page. */
async function publishOverWhip(page: Page, publisher: { httpUrl: string; codec: 'vp8' | 'h264' }, token: string, options: PublishOptions): Promise<PublishInfo> {
  const res = await fetch(`${publisher.httpUrl}/api/stream-key`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 201) throw new Error(`stream key: HTTP ${res.status}`);
  const { key } = (await res.json()) as { key: string };
  const whip: WhipPublishOptions = {
    endpoint: `${publisher.httpUrl}/api/whip`,
    key,
    width: options.width,
    height: options.height,
    fps: options.fps,
    layerBitrates: options.layerBitrates,
    audio: options.audio,
    codec: publisher.codec,
  };
  return page.evaluate((opts) => (globalThis as unknown as { __publisher: { publishWhip(o: WhipPublishOptions): Promise<PublishInfo> } }).__publisher.publishWhip(opts), whip);
}

/** Upload bitrate between two samples (kbps): the whole send transport, and video only. */
export function uploadKbps(a: UploadSample, b: UploadSample): { transport: number; video: number; audio: number } {
  const s = (b.at - a.at) / 1000;
  if (s <= 0) return { transport: 0, video: 0, audio: 0 };
  return {
    transport: ((b.transportBytesSent - a.transportBytesSent) * 8) / s / 1000,
    video: ((b.videoBytesSent - a.videoBytesSent) * 8) / s / 1000,
    audio: ((b.audioBytesSent - a.audioBytesSent) * 8) / s / 1000,
  };
}
