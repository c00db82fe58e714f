import { buildMediaHarness } from '../api/src/testing/browser/build.ts';
import { launchChromium } from '../api/src/testing/chromium.ts';
import { openHarnessPage, publishFromHarness } from '../api/src/testing/browser/pages.ts';
import { startTestServer } from '../api/src/testing/server.ts';
import { median } from './bench-db.ts';

declare const harness: { watch(id: number): Promise<void>; timeToFirstFrame(): number };

/** Time from a viewer's WebSocket connect to its first decoded frame, over `joins` fresh joins of one live stream. */
export async function runMediaBench(opts: { joins?: number } = {}) {
  const joins = opts.joins ?? 10;
  const clientDir = await buildMediaHarness();
  const srv = await startTestServer({ clientDir, mediasoupWorkers: 2 });
  const browser = await launchChromium();
  try {
    const { streamId: id } = await publishFromHarness(browser, srv.url, 'bench_streamer', 'bench');
    await new Promise((r) => setTimeout(r, 3000));
    const ttff: number[] = [];
    for (let i = 0; i < joins; i++) {
      const page = await openHarnessPage(browser, srv.url);
      await page.evaluate((sid) => harness.watch(sid), id);
      await page.waitForFunction(() => harness.timeToFirstFrame() > 0, undefined, { timeout: 15_000 });
      ttff.push(await page.evaluate(() => harness.timeToFirstFrame()));
      await page.context().close();
    }
    const sorted = [...ttff].sort((a, b) => a - b);
    return { 'viewer connect → first decoded frame, median ms': median(ttff), 'min ms': sorted[0]!, 'max ms': sorted[sorted.length - 1]!, joins };
  } finally {
    await browser.close();
    await srv.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await runMediaBench());
}
