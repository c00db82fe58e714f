import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../api/src/testing/server.ts';
import { defaultOptions } from './options.ts';
import { writeReport, type LoadReport } from './report.ts';
import { formatReport } from './report-lines.ts';
import { runLoadTest } from './run.ts';

const METRICS_TOKEN = 'harness-smoke-metrics-token';

// The harness against a real server (in this process): a Chromium streamer,
// 3 real WebRTC viewers (one decrypting), 5 chatters. Small on purpose: the
// point is that the figures it prints agree with each other and with the server.
describe('load-test harness (smoke)', () => {
  let server: TestServer;
  let outDir: string;
  let report: LoadReport;
  const log: string[] = [];

  beforeAll(async () => {
    // /metrics is closed by default: the harness reads the server's own counters with the token, as an operator would.
    process.env.METRICS_TOKEN = METRICS_TOKEN;
    server = await startTestServer({ metricsToken: METRICS_TOKEN });
    outDir = mkdtempSync(join(tmpdir(), 'redred-load-'));
    report = await runLoadTest(
      defaultOptions({
        url: server.url,
        viewers: 3,
        chatters: 5,
        rate: 4,
        durationS: 7,
        warmupS: 1,
        baselineS: 2,
        settleS: 1,
        decrypt: 1,
        // Of the 3: 1 decrypting, 1 sending RTCP like a browser, 1 counting through the batch receiver.
        rtcpShare: 0.34,
        // Published as OBS does (WHIP): the page asks Chrome for abs-capture-time, which mediasoup-client ≥ 3.19 cannot.
        publisher: 'whip',
        // 960x540 is the smallest capture for which Chrome still sends three simulcast layers.
        width: 960,
        height: 540,
        fps: 15,
        videoKbps: 600,
        outDir,
        quiet: true,
      }),
      { log: (l) => log.push(l), progress: (l) => log.push(l) },
    );
  }, 150_000);

  afterAll(async () => {
    delete process.env.METRICS_TOKEN;
    await server?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it('connects every viewer, and the server counts exactly the viewers and chat accounts connected', () => {
    const main = report.steps[0]!;
    expect(main.connected, log.join('\n')).toBe(3);
    expect(main.failed).toBe(0);
    expect(main.server.viewersCounted).toBe(main.server.viewersExpected);
    expect(main.server.viewersExpected).toBe(3 + 5);
    expect(report.checks.every((c) => c.ok), formatReport(report)).toBe(true);
  });

  it('gives every viewer a join time, a first frame and media over the window', () => {
    const main = report.steps[0]!;
    expect(main.joinMs.count).toBe(3);
    expect(main.ttffMs.count).toBe(3);
    expect(main.ttffMs.p99!).toBeGreaterThan(0);
    expect(main.ttffMs.p99!).toBeLessThan(15_000);
    expect(main.noFrame).toBe(0);
    expect(main.windowS!).toBeGreaterThan(1);
    expect(main.recvKbps.p5!).toBeGreaterThan(50);
    expect(main.aggregateLossPct).not.toBeNull();
  });

  it('decrypts the sample viewer\'s SRTP and finds valid VP8 keyframes', () => {
    const d = report.steps[0]!.decrypt;
    expect(d.viewers).toBe(1);
    expect(d.keyframesValid).toBeGreaterThan(0);
    expect(d.invalidPackets).toBe(0);
    expect(d.decryptedRatio!).toBeGreaterThan(0.99);
  });

  it("places the viewers' frames on the publisher's capture clock and gives the forwarding delay against the 1-viewer baseline", () => {
    const base = report.baseline!.captureDelayMs!;
    const main = report.steps[0]!.captureDelayMs!;
    expect(base.frames, formatReport(report)).toBeGreaterThan(0);
    expect(main.viewers).toBe(3);
    expect(main.frames).toBeGreaterThan(0);
    expect(main.stamps).toBeGreaterThan(0);
    // Chrome, the SFU and the viewers share this box's clocks: no frame arrives before its capture.
    expect(base.negative + main.negative).toBe(0);
    expect(main.toSfuSend).not.toBeNull();
    expect(main.sfuToViewer).not.toBeNull();
    expect(report.steps[0]!.forwardingDelayMs).not.toBeNull();
  });

  it('counts through the batch receiver, and the browser-like viewer sends receiver reports and transport-cc feedback', () => {
    const main = report.steps[0]!;
    expect(main.feedback.receivePaths).toEqual({ werift: 2, 'lean-rx': 1 });
    expect(main.feedback.viewers).toBe(1);
    expect(main.feedback.perViewerPerS!.rr).toBeGreaterThan(0);
    expect(main.feedback.perViewerPerS!.twcc).toBeGreaterThan(0);
    const counting = report.steps[0]!.perViewer.find((v) => v.receive === 'lean-rx')!;
    expect(counting.kbps!).toBeGreaterThan(50);
    expect(counting.ttffMs).not.toBeNull();
    expect(counting.rtcpSent).toEqual({ rr: 0, nack: 0, twcc: 0, remb: 0, pli: 0, other: 0 });
  });

  it('accounts for every chat message: sent = acked + refused, delivered + lost = acked × receivers', () => {
    const c = report.steps[0]!.chat!;
    expect(c.sent).toBeGreaterThan(5);
    expect(c.sent).toBe(c.acked + Object.values(c.rejected).reduce((a, b) => a + b, 0) + c.unanswered + c.unsendable);
    expect(c.receivers).toBe(5);
    expect(c.delivered).toBe(c.acked * c.receivers - c.lost);
    expect(c.lost).toBe(0);
    expect(c.duplicates).toBe(0);
    expect(c.delivery.count).toBe(c.delivered + c.deliveredUnacked);
    expect(c.ack.p99).not.toBeNull();
  });

  it('measures the streamer upload at 1 and at N viewers from its own send transport, three simulcast encodings', () => {
    expect(report.streamer!.uploadAt1Kbps!).toBeGreaterThan(50);
    expect(report.streamer!.uploadAtNKbps!).toBeGreaterThan(50);
    expect(report.streamer!.uploadRatio).not.toBeNull();
    expect(report.steps[0]!.upload!.layers).toHaveLength(3);
  });

  it('writes the JSON and the SVG chart with a timeline', () => {
    expect(report.timeline.length).toBeGreaterThan(3);
    const files = writeReport(report, outDir);
    expect(existsSync(files.json)).toBe(true);
    expect(JSON.parse(readFileSync(files.json, 'utf8')).steps[0].connected).toBe(3);
    expect(readFileSync(files.svg, 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>$/);
  });
});
