import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { REPO_ROOT } from '../../config.ts';

// The web client's pages driven as a person would, for browser tests.

export const CLIENT_DIST = join(REPO_ROOT, 'client', 'dist');
export const PASSWORD = 'correct horse battery';

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** `npm test` builds the client in its pretest; a direct `vitest run <file>` may find it stale. */
export function ensureClientBuilt(): void {
  const clientDir = join(REPO_ROOT, 'client');
  const index = join(CLIENT_DIST, 'index.html');
  const sources = Math.max(
    newestMtime(join(clientDir, 'src')),
    newestMtime(join(clientDir, 'public')),
    statSync(join(clientDir, 'index.html')).mtimeMs,
    newestMtime(join(REPO_ROOT, 'api', 'src', 'protocol')),
  );
  if (existsSync(index) && statSync(index).mtimeMs > sources) return;
  // vitest sets NODE_ENV=test, which would make Vite bundle Preact's development build.
  const r = spawnSync('npm', ['run', '--silent', 'build', '-w', '@redred/client'], { cwd: REPO_ROOT, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
  if (r.status !== 0) throw new Error('client build failed');
}

/** Frames the page's main <video> has presented so far, and its intrinsic size. */
export function videoProgress(page: Page) {
  return page.getByTestId('video').evaluate((v: HTMLVideoElement) => ({
    frames: v.getVideoPlaybackQuality().totalVideoFrames,
    width: v.videoWidth,
    height: v.videoHeight,
    box: v.getBoundingClientRect().width,
  }));
}

/** The watch page decodes frames, and keeps decoding. */
export async function expectMovingVideo(page: Page): Promise<void> {
  await expect.poll(async () => (await videoProgress(page)).frames, { timeout: 20_000 }).toBeGreaterThan(0);
  const first = await videoProgress(page);
  expect(first.width).toBeGreaterThan(0);
  expect(first.height).toBeGreaterThan(0);
  expect(first.box).toBeGreaterThan(0);
  await expect.poll(async () => (await videoProgress(page)).frames, { timeout: 10_000 }).toBeGreaterThan(first.frames + 10);
}

/** Signs up on the sign-up page (a write without a session), landing on `next`. */
export async function signUp(page: Page, username: string, next = '/studio'): Promise<void> {
  await page.goto(`/signup?next=${encodeURIComponent(next)}`);
  await page.locator('input[name="username"]').fill(username);
  await page.locator('input[name="password"]').fill(PASSWORD);
  await page.getByTestId('auth-submit').click();
  await page.waitForURL(`**${next}`);
  await expect.poll(() => page.getByTestId('current-user').textContent()).toBe(username);
}

/**
 * From the studio: creates a stream (a cookie-authenticated write) and goes live
 * with the fake camera and microphone; returns the stream id.
 */
export async function goLiveFromStudio(page: Page, title: string): Promise<number> {
  await page.getByTestId('stream-title-input').fill(title);
  await page.getByTestId('create-stream').click();
  const watchLink = page.getByTestId('watch-link');
  await watchLink.waitFor();
  const streamId = Number(/\/live\/(\d+)/.exec((await watchLink.getAttribute('href')) ?? '')?.[1]);
  const goLive = page.getByTestId('go-live');
  await expect.poll(() => goLive.isEnabled(), { timeout: 10_000 }).toBe(true);
  await goLive.click();
  await expect.poll(() => page.getByTestId('broadcast-state').getAttribute('data-state'), { timeout: 15_000 }).toBe('on');
  await expect.poll(() => page.getByTestId('stream-status').getAttribute('data-status'), { timeout: 10_000 }).toBe('live');
  return streamId;
}

/** Sends a chat line from `from` and waits until `to` shows it. */
export async function chatReaches(from: Page, to: Page, text: string): Promise<void> {
  await from.getByTestId('chat-input').fill(text);
  await from.getByTestId('chat-input').press('Enter');
  await to.getByTestId('chat-text').filter({ hasText: text }).first().waitFor({ timeout: 10_000 });
}
