// Running the site for a community, in Chromium against a real server: the channel
// page before, during and after a stream; a site admin ends the stream from the
// admin page and its viewer is told why.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_DIST, ensureClientBuilt } from '../../api/src/testing/browser/live-pages.ts';
import { launchChromium } from '../../api/src/testing/chromium.ts';
import { goLive } from '../../api/src/testing/publish.ts';
import { api, registerUser, startTestServer, type TestServer } from '../../api/src/testing/server.ts';
import { TestWsClient } from '../../api/src/testing/ws-client.ts';

const shotsDir = join(fileURLToPath(new URL('../../', import.meta.url)), 'test-artifacts', 'screenshots');
const PASSWORD = 'correct horse battery';

describe('community features in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  let admin: Page;
  let visitor: Page;
  let studio: TestWsClient;
  let streamId = 0;
  const streamerName = 'chan_host';

  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: server.url });
    contexts.push(context);
    const page = await context.newPage();
    // The admin page confirms before ending a stream: say yes.
    page.on('dialog', (d) => void d.accept());
    page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
    return page;
  }
  const shoot = (page: Page, name: string) => page.screenshot({ path: join(shotsDir, `community-${name}.png`) });

  beforeAll(async () => {
    ensureClientBuilt();
    mkdirSync(shotsDir, { recursive: true });
    server = await startTestServer({ clientDir: CLIENT_DIST, adminUsernames: ['site_boss'] });
    browser = await launchChromium();
    admin = await newPage();
    visitor = await newPage();
  }, 120_000);

  afterAll(async () => {
    await studio?.close();
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await server?.close();
  });

  it('shows an offline channel with no past streams before the first stream', async () => {
    await registerUser(server.url, streamerName);
    await visitor.goto(`/c/${streamerName}`);
    await visitor.getByTestId('channel-offline').waitFor();
    await expect(visitor.getByTestId('past-streams').textContent()).resolves.toBe('');
    await shoot(visitor, 'channel-before');
  });

  it('shows the live stream on the channel page once it is live', async () => {
    const host = await api(server.url, 'POST', '/api/auth/login', { body: { username: streamerName, password: PASSWORD } });
    const created = await api(server.url, 'POST', '/api/live/create', { token: host.body.token, body: { title: 'Community night' } });
    streamId = created.body.stream.id;
    studio = await TestWsClient.connect(server.wsUrl(streamId), { token: host.body.token });
    await studio.waitFor('connection_established');
    await goLive(studio);
    await visitor.goto(`/c/${streamerName}`);
    await visitor.getByTestId('stream-status').filter({ hasText: /live/i }).first().waitFor();
    await shoot(visitor, 'channel-during');
  });

  it('a site admin ends the stream from the admin page; the viewer sees the reason', async () => {
    await admin.goto('/signup?next=/admin');
    await admin.getByLabel('Username').fill('site_boss');
    await admin.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await admin.getByTestId('auth-submit').click();
    await admin.getByTestId('admin-page').waitFor();
    const row = admin.getByTestId(`admin-stream-${streamId}`);
    await row.getByTestId('admin-end-reason').fill('off-topic for this site');
    await shoot(admin, 'admin-page');
    await row.getByTestId('admin-end-stream').click();
    await row.waitFor({ state: 'detached' });
    await expect(visitor.getByTestId('end-reason').textContent()).resolves.toContain('A site admin ended the stream: “off-topic for this site”');
    await shoot(visitor, 'viewer-ended-by-admin');
    await admin.getByTestId('admin-log').getByText(/stream ended/).first().waitFor();
  });

  it('a streamer unbans from the list in the studio, and the user can join again', async () => {
    const host = await registerUser(server.url, 'list_streamer');
    const troll = await registerUser(server.url, 'list_troll');
    const created = await api(server.url, 'POST', '/api/live/create', { token: host.token, body: { title: 'Moderated' } });
    const ws = await TestWsClient.connect(server.wsUrl(created.body.stream.id), { token: host.token });
    await ws.waitFor('connection_established');
    expect((await ws.request({ type: 'ban_user', userId: troll.id, reason: 'spam links' })).type).toBe('ack');
    await ws.close();

    const page = await newPage();
    await page.goto('/login?next=/studio');
    await page.getByLabel('Username').fill('list_streamer');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByTestId('auth-submit').click();
    const bans = page.getByTestId('list-bans');
    await bans.getByText('list_troll').waitFor();
    await page.getByTestId('moderation-lists').scrollIntoViewIfNeeded();
    await shoot(page, 'studio-lists-banned');
    await bans.getByTestId('list-bans-action').click();
    await bans.getByText('Nobody.').waitFor();
    const again = await TestWsClient.connect(server.wsUrl(created.body.stream.id), { token: troll.token });
    expect((await again.waitFor('connection_established')).type).toBe('connection_established');
    await again.close();
    await page.getByTestId('appoint-name').fill('list_troll');
    await page.getByTestId('appoint').click();
    await page.getByTestId('list-moderators').getByText('list_troll').waitFor();
    await shoot(page, 'studio-lists-after');
  });

  it('shows the channel offline after the stream, with it in the past streams, and its summary at /live/<id>', async () => {
    await visitor.goto(`/c/${streamerName}`);
    await visitor.getByTestId('channel-offline').waitFor();
    await expect(visitor.getByTestId('past-streams').textContent()).resolves.toContain('Community night');
    await shoot(visitor, 'channel-after');
    await visitor.getByRole('link', { name: 'Community night' }).click();
    await visitor.getByTestId('stream-ended').waitFor();
    await expect(visitor.getByTestId('end-reason').textContent()).resolves.toContain('off-topic for this site');
    await shoot(visitor, 'ended-summary');
  });
});
