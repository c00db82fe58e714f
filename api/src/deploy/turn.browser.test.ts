// TURN through real coturn (the shipped deploy/turnserver.conf, on loopback) with
// use-auth-secret: the credentials the server hands out in connection_established
// are the only way a relay-only viewer gets video, and coturn refuses them once
// they have expired.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { turnCredential } from '../auth/turn-credentials.ts';
import { ensureClientBuilt, expectMovingVideo, goLiveFromStudio, signUp } from '../testing/browser/live-pages.ts';
import { launchChromium } from '../testing/chromium.ts';
import { startCoturn, type TurnServer } from '../testing/deploy-servers.ts';
import { skipWithout } from '../testing/owned-process.ts';
import { startServerProcess, type ServerProcess } from '../testing/process.ts';

const SECRET = 'turn-test-secret-0123456789abcdef';

declare global {
  interface Window {
    __peerConnections: RTCPeerConnection[];
  }
}

/**
 * A viewer on a network where only the relay works: every RTCPeerConnection the
 * page makes is forced to `iceTransportPolicy: 'relay'`, and kept for getStats.
 */
function forceRelay(): void {
  const Native = window.RTCPeerConnection;
  window.__peerConnections = [];
  window.RTCPeerConnection = class extends Native {
    constructor(config?: RTCConfiguration) {
      super({ ...config, iceTransportPolicy: 'relay' });
      window.__peerConnections.push(this);
    }
  };
}

/** The local candidate types of the selected pairs of the page's connected transports. */
function selectedLocalCandidateTypes(): Promise<string[]> {
  return Promise.all(
    window.__peerConnections.map(async (pc) => {
      const stats = await pc.getStats();
      const types: string[] = [];
      stats.forEach((s: { type: string; selectedCandidatePairId?: string }) => {
        if (s.type !== 'transport' || !s.selectedCandidatePairId) return;
        const pair = stats.get(s.selectedCandidatePairId) as { localCandidateId: string };
        types.push((stats.get(pair.localCandidateId) as { candidateType: string }).candidateType);
      });
      return types;
    }),
  ).then((all) => all.flat());
}

/** Gathers relay candidates with one TURN credential; returns what the page saw. */
function gatherWith(server: RTCIceServer): Promise<{ relay: number; errors: number[] }> {
  return new Promise((resolve) => {
    const pc = new RTCPeerConnection({ iceServers: [server], iceTransportPolicy: 'relay' });
    const seen = { relay: 0, errors: [] as number[] };
    pc.onicecandidate = (e) => {
      if (e.candidate?.type === 'relay') seen.relay++;
      if (e.candidate === null) {
        pc.close();
        resolve(seen);
      }
    };
    pc.onicecandidateerror = (e) => seen.errors.push((e as RTCPeerConnectionIceErrorEvent).errorCode);
    pc.createDataChannel('probe');
    void pc.createOffer().then((o) => pc.setLocalDescription(o));
  });
}

describe.skipIf(skipWithout('turnserver', 'openssl'))('TURN through coturn with use-auth-secret', () => {
  let turn: TurnServer;
  let server: ServerProcess;
  let browser: Browser;
  let dataDir: string;
  const contexts: BrowserContext[] = [];

  async function newPage(relayOnly = false): Promise<Page> {
    const context = await browser.newContext({ baseURL: server.url });
    contexts.push(context);
    if (relayOnly) await context.addInitScript(forceRelay);
    return context.newPage();
  }

  beforeAll(async () => {
    ensureClientBuilt();
    turn = await startCoturn(SECRET);
    dataDir = mkdtempSync(join(tmpdir(), 'redred-turn-'));
    server = await startServerProcess({ DATA_DIR: dataDir, TURN_URLS: `turn:127.0.0.1:${turn.port}?transport=udp`, TURN_SECRET: SECRET });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await server?.kill();
    await turn?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('gets video to a relay-only viewer through coturn with the credentials from connection_established', async () => {
    // The streamer on http://127.0.0.1 (localhost is a secure origin), connecting directly.
    const streamer = await newPage();
    await signUp(streamer, 'turn_streamer');
    const streamId = await goLiveFromStudio(streamer, 'Over TURN');

    const viewer = await newPage(true);
    await viewer.goto(`/live/${streamId}`);
    await expectMovingVideo(viewer);
    const types = await viewer.evaluate(selectedLocalCandidateTypes);
    expect(types.length).toBeGreaterThan(0);
    expect(new Set(types)).toEqual(new Set(['relay']));
    // coturn made the allocation for this anonymous viewer's username.
    await turn.process.waitForOutput(/:anon.*ALLOCATE processed, success|ALLOCATE processed, success.*:anon/);
  }, 120_000);

  it('runs the shipped configuration as written: TURN on UDP and TCP, TURN over TLS with the certificate files it names', () => {
    expect(turn.process.output).toContain(`UDP listener opened on: 127.0.0.1:${turn.port}`);
    expect(turn.process.output).toContain(`TLS/TCP listener opened on : 127.0.0.1:${turn.tlsPort}`);
    expect(turn.process.output).not.toMatch(/cannot start TLS/);
  });

  it('refuses a credential past its expiry (401), while a fresh one gets a relay', async () => {
    const page = await newPage();
    await page.goto('/');
    const now = Math.floor(Date.now() / 1000);
    const credentials = (expiry: number): RTCIceServer => {
      const username = `${expiry}:anon`;
      return { urls: `turn:127.0.0.1:${turn.port}?transport=udp`, username, credential: turnCredential(SECRET, username) };
    };
    const expired = await page.evaluate(gatherWith, credentials(now - 60));
    const fresh = await page.evaluate(gatherWith, credentials(now + 600));
    expect(fresh).toMatchObject({ relay: 1 });
    expect(expired.relay).toBe(0);
    expect(expired.errors).toContain(401);
  }, 60_000);
});
