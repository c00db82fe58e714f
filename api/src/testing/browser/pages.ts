import type { Browser, Page } from 'playwright-core';
import { api, registerUser } from '../server.ts';

declare const harness: { publish(streamId: number): Promise<unknown> };

/** A fresh browser context on the media harness page a test server serves at `/` (signed in with `token`), once the page is ready. */
export async function openHarnessPage(browser: Browser, baseUrl: string, token?: string): Promise<Page> {
  const context = await browser.newContext();
  if (token) await context.addCookies([{ name: 'redred_session', value: token, url: baseUrl }]);
  const page = await context.newPage();
  await page.goto(baseUrl + '/');
  await page.waitForFunction(() => document.title === 'harness ready');
  return page;
}

/** Registers a streamer, creates a stream and publishes the harness's camera (VP8 simulcast ×3) and microphone from Chromium. */
export async function publishFromHarness(
  browser: Browser,
  baseUrl: string,
  username: string,
  title: string,
): Promise<{ streamId: number; streamerToken: string; page: Page }> {
  const streamer = await registerUser(baseUrl, username);
  const created = await api(baseUrl, 'POST', '/api/live/create/', { token: streamer.token, body: { title } });
  const streamId = created.body.stream.id as number;
  const page = await openHarnessPage(browser, baseUrl, streamer.token);
  await page.evaluate((id) => harness.publish(id), streamId);
  return { streamId, streamerToken: streamer.token, page };
}
