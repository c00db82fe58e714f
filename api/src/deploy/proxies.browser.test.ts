// The documented way to put the server on the internet, run for real: the shipped
// deploy/Caddyfile and deploy/nginx.conf in front of the real server entry, Chromium
// on https://redred.test:<port> (resolved to 127.0.0.1, the proxy's certificate
// accepted). A secure origin, so the studio can capture; through the proxy the
// WebSocket must pass the origin check and cookie writes the CSRF check.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_COOKIE } from '../auth/tokens.ts';
import { chatReaches, ensureClientBuilt, expectMovingVideo, goLiveFromStudio, signUp } from '../testing/browser/live-pages.ts';
import { launchChromium } from '../testing/chromium.ts';
import { startCaddy, startNginx, type ProxyServer } from '../testing/deploy-servers.ts';
import { freePort, skipWithout } from '../testing/owned-process.ts';
import { startServerProcess, type ServerProcess } from '../testing/process.ts';

const SITE = 'redred.test';

let browser: Browser;
const contexts: BrowserContext[] = [];
const servers: ServerProcess[] = [];
const proxies: ProxyServer[] = [];
const dataDirs: string[] = [];

beforeAll(async () => {
  ensureClientBuilt();
  browser = await launchChromium([`--host-resolver-rules=MAP ${SITE} 127.0.0.1`, '--ignore-certificate-errors']);
}, 120_000);

afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close().catch(() => {});
  await Promise.all(servers.splice(0).map((s) => s.kill()));
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  for (const d of dataDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

afterAll(async () => {
  await browser?.close();
});

/** The proxy (on its own free port) in front of the server on `upstreamPort`. */
type StartProxy = (site: string, upstreamPort: number) => Promise<ProxyServer>;

async function behind(startProxy: StartProxy, env: (origin: string) => Record<string, string>): Promise<{ proxy: ProxyServer; server: ServerProcess }> {
  const port = await freePort();
  const proxy = await startProxy(SITE, port);
  proxies.push(proxy);
  const dataDir = mkdtempSync(join(tmpdir(), 'redred-proxied-'));
  dataDirs.push(dataDir);
  const server = await startServerProcess({ PORT: String(port), DATA_DIR: dataDir, TRUST_PROXY: 'true', ...env(proxy.origin) });
  servers.push(server);
  return { proxy, server };
}

async function page(origin: string): Promise<Page> {
  const context = await browser.newContext({ baseURL: origin, ignoreHTTPSErrors: true });
  contexts.push(context);
  const p = await context.newPage();
  p.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
  return p;
}

/** The server's log lines (pino JSON) from its `proxy` module at warn level. */
async function proxyWarnings(server: ServerProcess): Promise<{ msg: string; browserOrigin: string }[]> {
  await server.stop();
  return (await server.log())
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; module?: string; msg: string; browserOrigin: string })
    .filter((l) => l.module === 'proxy' && l.level === 40);
}

/** Issue 15's scenario: the studio goes live through the proxy; a viewer decodes frames and chats. */
async function streamAndWatch(origin: string, tag: string): Promise<void> {
  const streamer = await page(origin);
  await signUp(streamer, `streamer_${tag}`);
  expect(await streamer.evaluate(() => window.isSecureContext)).toBe(true);
  const session = (await streamer.context().cookies()).find((c) => c.name === SESSION_COOKIE);
  expect(session?.secure).toBe(true);
  // Creating the stream is a cookie-authenticated write (CSRF check); going live needs the WebSocket (origin check).
  const streamId = await goLiveFromStudio(streamer, `Through ${tag}`);

  const viewer = await page(origin);
  await signUp(viewer, `viewer_${tag}`, `/live/${streamId}`);
  await expectMovingVideo(viewer);
  await chatReaches(viewer, streamer, `hello through ${tag}`);
  await chatReaches(streamer, viewer, `welcome, ${tag} viewer`);
}

describe.skipIf(skipWithout('caddy'))('through Caddy with the shipped Caddyfile (tls internal)', () => {
  it('goes live from the studio, and a viewer decodes frames and chats, with PUBLIC_URL set and no proxy warning', async () => {
    const { proxy, server } = await behind(startCaddy, (origin) => ({ PUBLIC_URL: origin }));
    await streamAndWatch(proxy.origin, 'caddy');
    expect(await proxyWarnings(server)).toEqual([]);
  }, 120_000);
});

describe.skipIf(skipWithout('nginx', 'openssl'))('through nginx with the shipped nginx.conf', () => {
  it('goes live from the studio, and a viewer decodes frames and chats, with PUBLIC_URL set and no proxy warning', async () => {
    const { proxy, server } = await behind(startNginx, (origin) => ({ PUBLIC_URL: origin }));
    await streamAndWatch(proxy.origin, 'nginx');
    expect(await proxyWarnings(server)).toEqual([]);
  }, 120_000);

  // nginx's `Host $host` drops the port the browser used: a Host-rewriting proxy, like
  // nginx's default (`Host` = the upstream's address) on any port.
  it('without PUBLIC_URL: refuses the WebSocket and cookie writes as cross-origin, and says once at the first page load that PUBLIC_URL is missing', async () => {
    const { proxy, server } = await behind(startNginx, () => ({}));
    const streamer = await page(proxy.origin);
    await signUp(streamer, 'streamer_nopub');
    const refused = await streamer.evaluate(async () => {
      const create = await fetch('/api/live/create/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: 'x' }) });
      const socket = await new Promise<string>((resolve) => {
        const ws = new WebSocket(`wss://${location.host}/ws/live/1`);
        ws.onopen = () => resolve('open');
        ws.onerror = () => resolve('refused');
      });
      return { create: create.status, code: ((await create.json()) as { error: { code: string } }).error.code, socket };
    });
    expect(refused).toEqual({ create: 403, code: 'csrf_rejected', socket: 'refused' });
    await streamer.reload();
    await streamer.getByTestId('current-user').waitFor();

    const warnings = await proxyWarnings(server);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.browserOrigin).toBe(proxy.origin);
    expect(warnings[0]!.msg).toContain(`set PUBLIC_URL=${proxy.origin}`);
  }, 120_000);
});
