// First-frame stalls of simulcast viewers: a Chromium streamer publishes (VP8 ×3 + Opus) to an
// in-process server, then Chromium viewers join one at a time and each is watched for WATCH_MS.
// A join stalls when its first frame takes over 1.5 s, or a gap between decoded frames exceeds
// 1 s, or it decodes fewer than 5 frames: mediasoup 3.8.4 forwarded the first keyframe and then
// nothing until Chrome's own PLI ~3 s later on ~40-50 % of joins (CALIBRATION.md), which the
// keyframe retries (sfu/src/KeyFrameRequests.ts) worked around.
//   node --import tsx scripts/first-frame-stalls.ts [joins=50]
// Compare engines or server versions by running it in each checkout; uptime is printed (a busy box
// delays first frames for reasons that have nothing to do with the SFU).
import { loadavg } from 'node:os';
import { buildMediaHarness } from '../api/src/testing/browser/build.ts';
import { launchChromium } from '../api/src/testing/chromium.ts';
import { openHarnessPage, publishFromHarness } from '../api/src/testing/browser/pages.ts';
import { startTestServer } from '../api/src/testing/server.ts';

declare const harness: { watch(id: number): Promise<void>; cameraFrameTimes(): number[] };

const WATCH_MS = 4000;
const joins = Number(process.argv[2] ?? 50);

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN);
}

const clientDir = await buildMediaHarness();
const srv = await startTestServer({ clientDir, mediasoupWorkers: 1 });
const browser = await launchChromium();
try {
  const { streamId: id } = await publishFromHarness(browser, srv.url, 'stall_streamer', 'stalls');
  // Let the encoder reach its three layers before the first viewer.
  await new Promise((r) => setTimeout(r, 8000));
  const rows: { ttff: number; fifth: number; maxGap: number; frames: number; stalled: boolean }[] = [];
  const load = loadavg()[0]!.toFixed(2);
  for (let i = 0; i < joins; i++) {
    const page = await openHarnessPage(browser, srv.url);
    await page.evaluate((sid) => harness.watch(sid), id);
    // The measurement window: frames decoded within WATCH_MS of the join.
    await page.waitForTimeout(WATCH_MS);
    const frames = (await page.evaluate(() => harness.cameraFrameTimes())).filter((t) => t <= WATCH_MS);
    await page.context().close();
    const ttff = frames[0] ?? Infinity;
    let maxGap = 0;
    for (let f = 1; f < frames.length; f++) maxGap = Math.max(maxGap, frames[f]! - frames[f - 1]!);
    const fifth = frames[4] ?? Infinity;
    const stalled = ttff > 1500 || maxGap > 1000 || frames.length < 5;
    rows.push({ ttff, fifth, maxGap, frames: frames.length, stalled });
    console.log(`join ${i + 1}: first frame ${Math.round(ttff)} ms, 5th ${Math.round(fifth)} ms, max gap ${Math.round(maxGap)} ms, ${frames.length} frames${stalled ? '  STALL' : ''}`);
  }
  const ok = rows.filter((r) => Number.isFinite(r.ttff));
  console.log(
    JSON.stringify({
      joins,
      stalled: rows.filter((r) => r.stalled).length,
      ttffP50: pct(ok.map((r) => r.ttff), 50),
      ttffP95: pct(ok.map((r) => r.ttff), 95),
      fifthFrameP50: pct(ok.map((r) => r.fifth), 50),
      fifthFrameP95: pct(ok.map((r) => r.fifth), 95),
      maxGapMax: Math.round(Math.max(...rows.map((r) => r.maxGap))),
      loadAtStart: load,
      loadAtEnd: loadavg()[0]!.toFixed(2),
    }),
  );
} finally {
  await browser.close();
  await srv.close();
}
