// The web client against a real server, in Debian's Chromium with fake camera and
// microphone: issue 8's scenario, plus the XSS and reconnect checks. The steps run
// in order on shared pages; each `it` names what it proves.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_DIST, ensureClientBuilt, expectMovingVideo, videoProgress } from '../../api/src/testing/browser/live-pages.ts';
import { launchChromium } from '../../api/src/testing/chromium.ts';
import { registerUser, startTestServer, type TestServer } from '../../api/src/testing/server.ts';
import { TestWsClient } from '../../api/src/testing/ws-client.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const distDir = CLIENT_DIST;
const shotsDir = join(root, 'test-artifacts', 'screenshots');
const PASSWORD = 'correct horse battery';
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const XSS = '<img src=x onerror=alert(1)><script>window.__xss=1</script>';

const comment = (page: Page, id: number) => page.locator(`[data-testid="chat-message"][data-comment-id="${id}"]`);

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The id of the (first) chat line whose text is exactly `text`, once it shows. */
async function commentIdByText(page: Page, text: string): Promise<number> {
  const exact = new RegExp(`^\\s*${escapeRegExp(text.trim())}\\s*$`);
  const item = page.getByTestId('chat-message').filter({ has: page.getByTestId('chat-text').filter({ hasText: exact }) });
  await item.first().waitFor({ timeout: 10_000 });
  return Number(await item.first().getAttribute('data-comment-id'));
}

async function shoot(page: Page, name: string, size: { width: number; height: number }): Promise<void> {
  const previous = page.viewportSize();
  await page.setViewportSize(size);
  await page.waitForTimeout(250);
  await page.screenshot({ path: join(shotsDir, `${name}-${size.width}x${size.height}.png`) });
  if (previous) await page.setViewportSize(previous);
}

describe('web client in Chromium against a real server', () => {
  let server: TestServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  let streamer: Page;
  let viewer: Page;
  let guest: Page;
  let streamId = 0;
  const suffix = Date.now().toString(36).slice(-5);
  const streamerName = `streamer_${suffix}`;
  const viewerName = `viewer_${suffix}`;
  const dialogs: string[] = [];

  async function newPage(viewport = DESKTOP): Promise<Page> {
    const context = await browser.newContext({ viewport, baseURL: server.url });
    contexts.push(context);
    const page = await context.newPage();
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
    return page;
  }

  beforeAll(async () => {
    ensureClientBuilt();
    mkdirSync(shotsDir, { recursive: true });
    server = await startTestServer({ clientDir: distDir });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await server?.close();
  });

  it('signs the streamer up with field errors shown next to their field, then goes live with fake camera and microphone', async () => {
    streamer = await newPage();
    await streamer.goto('/signup?next=%2Fstudio');
    await streamer.locator('input[name="username"]').fill('x');
    await streamer.locator('input[name="password"]').fill(PASSWORD);
    await streamer.getByTestId('auth-submit').click();
    await expect.poll(() => streamer.getByTestId('username-error').textContent()).toMatch(/username/i);

    await streamer.locator('input[name="username"]').fill(streamerName);
    await streamer.locator('input[name="password"]').fill('short');
    await streamer.getByTestId('auth-submit').click();
    await expect.poll(() => streamer.getByTestId('password-error').textContent()).toMatch(/password/i);
    expect(await streamer.getByTestId('username-error').count()).toBe(0);

    await streamer.locator('input[name="password"]').fill(PASSWORD);
    await streamer.getByTestId('auth-submit').click();
    await streamer.waitForURL('**/studio');
    await expect.poll(() => streamer.getByTestId('current-user').textContent()).toBe(streamerName);

    await streamer.getByTestId('stream-title-input').fill('Friday night build');
    await streamer.getByTestId('stream-description-input').fill('Wiring up simulcast, live.');
    await streamer.getByTestId('create-stream').click();
    const watchLink = streamer.getByTestId('watch-link');
    await watchLink.waitFor();
    streamId = Number(/\/live\/(\d+)/.exec((await watchLink.getAttribute('href')) ?? '')?.[1]);
    expect(streamId).toBeGreaterThan(0);

    const goLive = streamer.getByTestId('go-live');
    await expect.poll(() => goLive.isEnabled(), { timeout: 10_000 }).toBe(true);
    await goLive.click();
    await expect.poll(() => streamer.getByTestId('broadcast-state').getAttribute('data-state'), { timeout: 15_000 }).toBe('on');
    await expect.poll(() => streamer.getByTestId('stream-status').getAttribute('data-status'), { timeout: 10_000 }).toBe('live');
  });

  it('lists the live stream on the home page', async () => {
    guest = await newPage(PHONE);
    await guest.goto('/');
    await guest.locator(`[data-testid="stream-card"][data-stream-id="${streamId}"]`).waitFor({ timeout: 10_000 });
    expect(await guest.getByTestId('stream-card').first().textContent()).toContain('Friday night build');
  });

  it('plays moving video for a signed-in viewer and an anonymous one, and counts them', async () => {
    viewer = await newPage();
    const res = await viewer.request.post('/api/auth/register', { data: { username: viewerName, password: PASSWORD } });
    expect(res.status()).toBe(201);
    await Promise.all([viewer.goto(`/live/${streamId}`), guest.goto(`/live/${streamId}`)]);
    await Promise.all([expectMovingVideo(viewer), expectMovingVideo(guest)]);
    expect(await viewer.getByTestId('stream-title').textContent()).toBe('Friday night build');
    await expect.poll(() => streamer.getByTestId('viewer-count').textContent(), { timeout: 10_000 }).toBe('2');
    await expect.poll(() => viewer.getByTestId('viewer-count').textContent(), { timeout: 10_000 }).toBe('2');
    // Muted autoplay, with the unmute button in plain sight.
    const audio = viewer.getByTestId('audio');
    await expect.poll(() => audio.evaluate((a: HTMLAudioElement) => a.srcObject instanceof MediaStream && a.muted)).toBe(true);
    await viewer.getByTestId('unmute').click();
    expect(await audio.evaluate((a: HTMLAudioElement) => a.muted)).toBe(false);
    expect(await viewer.getByTestId('unmute').count()).toBe(0);
    // The quality picker pins the simulcast layer: "low" is the quarter-resolution encoding.
    await viewer.getByTestId('quality').selectOption('low');
    await expect.poll(async () => (await videoProgress(viewer)).height, { timeout: 10_000 }).toBeLessThanOrEqual(240);
    await viewer.getByTestId('quality').selectOption('auto');
  });

  it('delivers the signed-in viewer’s comment to the streamer; the guest is asked to log in', async () => {
    await viewer.getByTestId('chat-input').fill('hello from the audience :fire:');
    await viewer.getByTestId('chat-input').press('Enter');
    const id = await commentIdByText(streamer, 'hello from the audience :fire:');
    await comment(guest, id).waitFor();
    // Not a VIP: the emote code stays text.
    expect(await comment(streamer, id).getByTestId('emote').count()).toBe(0);
    expect(await guest.getByTestId('chat-login-prompt').isVisible()).toBe(true);
    expect(await guest.getByTestId('chat-input').count()).toBe(0);

    await streamer.getByTestId('chat-input').fill(':redheart: welcome in');
    await streamer.getByTestId('chat-send').click();
    const own = await commentIdByText(viewer, ' welcome in');
    await expect.poll(() => comment(viewer, own).getByTestId('emote').count()).toBe(1);
    expect(await comment(viewer, own).getAttribute('class')).toContain('msg--highlight');
    expect(await comment(viewer, own).getByTestId('role-badge').getAttribute('data-role')).toBe('streamer');
  });

  it('renders HTML and script in a comment as text, with no injected element', async () => {
    await viewer.getByTestId('chat-input').fill(XSS);
    await viewer.getByTestId('chat-input').press('Enter');
    for (const page of [viewer, streamer, guest]) {
      const id = await commentIdByText(page, XSS);
      expect(await comment(page, id).getByTestId('chat-text').textContent()).toBe(XSS);
      const injected = await page.evaluate(() => ({
        elements: document.querySelectorAll('[data-testid="chat-list"] script, [data-testid="chat-list"] img:not([data-testid="emote"])').length,
        flag: (window as unknown as { __xss?: number }).__xss,
      }));
      expect(injected).toEqual({ elements: 0, flag: undefined });
    }
    expect(dialogs).toEqual([]);
  });

  it('shows the connection status when the network drops, then reconnects and plays again', async () => {
    await guest.context().setOffline(true);
    await expect.poll(() => guest.getByTestId('connection-status').getAttribute('data-status')).toBe('reconnecting');
    await guest.context().setOffline(false);
    await expect.poll(() => guest.getByTestId('connection-status').count(), { timeout: 15_000 }).toBe(0);
    await expectMovingVideo(guest);
  });

  it('writes screenshots of home, watch and studio at desktop and phone widths', async () => {
    const home = await newPage();
    await home.goto('/');
    await home.getByTestId('stream-card').first().waitFor();
    for (const size of [DESKTOP, PHONE]) {
      await Promise.all([shoot(home, 'home', size), shoot(guest, 'watch', size), shoot(streamer, 'studio', size)]);
    }
    await home.close();
  });

  it('lets the streamer make the viewer a moderator, who deletes another user’s comment for everyone', async () => {
    // A third person chats from a plain protocol client.
    const chatter = await registerUser(server.url, `chatter_${suffix}`, PASSWORD);
    const ws = await TestWsClient.connect(server.wsUrl(streamId), { token: chatter.token });
    try {
      await ws.waitFor('connection_established');
      const ack = await ws.request({ type: 'comment', content: 'buy followers at spam.example' });
      expect(ack.type).toBe('comment_ack');
      const spamId = ack.type === 'comment_ack' ? ack.commentId : 0;
      for (const page of [streamer, viewer, guest]) await comment(page, spamId).waitFor();

      const row = streamer.locator(`[data-testid="viewer-row"][data-username="${viewerName}"]`);
      await row.waitFor({ timeout: 10_000 });
      await row.getByTestId('viewer-actions').click();
      await row.getByTestId('make-mod').click();
      await expect.poll(() => row.getAttribute('data-role'), { timeout: 10_000 }).toBe('moderator');

      // The viewer's page learns its new role and offers moderation on hover.
      const del = comment(viewer, spamId).getByTestId('delete-comment');
      await del.waitFor({ state: 'attached', timeout: 10_000 });
      await viewer.getByTestId('mod-tools').waitFor();
      await shoot(viewer, 'watch-moderator', DESKTOP);
      await comment(viewer, spamId).hover();
      await del.click();
      for (const page of [viewer, streamer, guest]) {
        await expect.poll(() => comment(page, spamId).count(), { timeout: 10_000 }).toBe(0);
      }
      await ws.waitFor('comment_deleted', (m) => m.commentIds.includes(spamId));
    } finally {
      await ws.close();
    }
  });

  it('ends the stream from the studio and every viewer sees the ended state', async () => {
    await streamer.getByTestId('end-stream').click();
    for (const page of [viewer, guest, streamer]) {
      await page.getByTestId('stream-ended').waitFor({ timeout: 10_000 });
    }
    expect(await viewer.getByTestId('chat-input').count()).toBe(0);
    await shoot(guest, 'watch-ended', PHONE);
    await shoot(streamer, 'studio-ended', DESKTOP);
    const res = await fetch(`${server.url}/api/live/${streamId}`);
    expect(((await res.json()) as { stream: { status: string } }).stream.status).toBe('ended');
  });
});
