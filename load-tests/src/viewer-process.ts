// Entry of one viewer process: hosts many LoadViewers on its own event loop
// (one Node event loop tops out near 100 decrypting viewers; see
// docs/load-testing.md). Driven by the orchestrator over IPC.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { LeanReceiver } from './lean-rx.ts';
import { LoadViewer, type ViewerLayer, type ViewerMode, type ViewerResult } from './viewer.ts';
import { nowMs } from './stats.ts';

export interface ViewerJoin {
  index: number;
  /** Epoch ms at which this viewer starts joining. */
  at: number;
  mode: ViewerMode;
  /** Joins once the crowd is steady: its TTFF is what a newcomer to an N-viewer stream sees. */
  probe: boolean;
}

export type ToViewerProcess =
  | { type: 'init'; wsUrl: string; localAddress: string | null; layer: ViewerLayer | null; joinTimeoutMs: number; leanRx: boolean }
  | { type: 'join'; viewers: ViewerJoin[] }
  | { type: 'mark' }
  | { type: 'endWindow' }
  | { type: 'stop' };

export interface ViewerProgress {
  type: 'progress';
  at: number;
  started: number;
  connected: number;
  failed: number;
  withFrame: number;
  packets: number;
  bytes: number;
  expected: number;
  cpuMs: number;
}

export type FromViewerProcess =
  | { type: 'ready' }
  | ViewerProgress
  | { type: 'result'; viewers: ViewerResult[]; cpuMs: number; maxRssKb: number; loopDelayMs: LoopDelay | null }
  | { type: 'error'; error: string };

/** How late this process ran its callbacks over the window (ms): it delays every packet's arrival time, so it is part of each capture → viewer figure. */
export interface LoopDelay {
  p50: number;
  p99: number;
}

const LOOP_RESOLUTION_MS = 10;
const loopMonitor = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
let loopDelay: LoopDelay | null = null;

/** The monitor's samples are timer intervals: lateness is what exceeds the resolution. */
function readLoopDelay(): LoopDelay | null {
  if (loopMonitor.count === 0) return null;
  const late = (p: number) => Math.max(0, loopMonitor.percentile(p) / 1e6 - LOOP_RESOLUTION_MS);
  return { p50: late(50), p99: late(99) };
}

const viewers: LoadViewer[] = [];
const timers = new Set<NodeJS.Timeout>();
let config: Extract<ToViewerProcess, { type: 'init' }> | null = null;
/** The batch receiver of this process's counting viewers: started with the first one; null when off or unavailable. */
let lean: LeanReceiver | null | undefined;

function leanReceiver(): LeanReceiver | null {
  if (lean !== undefined) return lean;
  lean = null;
  if (!config?.leanRx) return lean;
  try {
    lean = LeanReceiver.start((line) => send({ type: 'error', error: line }));
  } catch (err) {
    send({ type: 'error', error: `counting viewers stay on Node's dgram: ${err instanceof Error ? err.message : String(err)}` });
  }
  return lean;
}

function send(msg: FromViewerProcess): void {
  process.send?.(msg);
}

/** This process and its batch receiver. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000 + (lean?.cpuMs ?? 0);
}

function progress(): ViewerProgress {
  let connected = 0;
  let failed = 0;
  let withFrame = 0;
  let packets = 0;
  let bytes = 0;
  let expected = 0;
  for (const v of viewers) {
    if (v.connected) connected++;
    if (v.failed) failed++;
    const m = v.meter;
    if (m) {
      if (m.firstFrameAt !== null) withFrame++;
      packets += m.packets;
      bytes += m.bytes;
      expected += m.expected;
    }
  }
  return { type: 'progress', at: nowMs(), started: viewers.length, connected, failed, withFrame, packets, bytes, expected, cpuMs: cpuMs() };
}

const progressTimer = setInterval(() => send(progress()), 1000);

async function stop(): Promise<void> {
  clearInterval(progressTimer);
  for (const t of timers) clearTimeout(t);
  timers.clear();
  for (const v of viewers) v.finish();
  loopDelay ??= readLoopDelay();
  loopMonitor.disable();
  const results = viewers.map((v) => v.result());
  await Promise.all(viewers.map((v) => v.close()));
  const cpu = cpuMs();
  lean?.close();
  // Leave once IPC has flushed the result (a disconnect right after send may drop it), even if a socket lingers.
  setTimeout(() => process.exit(0), 10_000).unref();
  process.send?.({ type: 'result', viewers: results, cpuMs: cpu, maxRssKb: process.resourceUsage().maxRSS, loopDelayMs: loopDelay } satisfies FromViewerProcess, undefined, {}, () => {
    process.disconnect?.();
    setTimeout(() => process.exit(0), 200).unref();
  });
}

process.on('message', (raw: unknown) => {
  const msg = raw as ToViewerProcess;
  switch (msg.type) {
    case 'init':
      config = msg;
      send({ type: 'ready' });
      return;
    case 'join': {
      const cfg = config;
      if (!cfg) return send({ type: 'error', error: 'join before init' });
      for (const j of msg.viewers) {
        const t = setTimeout(
          () => {
            timers.delete(t);
            const viewer = new LoadViewer({
              index: j.index,
              wsUrl: cfg.wsUrl,
              mode: j.mode,
              probe: j.probe,
              localAddress: cfg.localAddress,
              layer: cfg.layer,
              joinTimeoutMs: cfg.joinTimeoutMs,
              leanRx: j.mode === 'count' ? leanReceiver() : null,
            });
            viewers.push(viewer);
            void viewer.join();
          },
          Math.max(0, j.at - nowMs()),
        );
        timers.add(t);
      }
      return;
    }
    case 'mark':
      for (const v of viewers) v.mark();
      loopMonitor.reset();
      loopMonitor.enable();
      return;
    case 'endWindow':
      for (const v of viewers) v.finish();
      loopDelay = readLoopDelay();
      loopMonitor.disable();
      return;
    case 'stop':
      void stop();
      return;
    default: {
      const unknown: never = msg;
      send({ type: 'error', error: `unknown message ${JSON.stringify(unknown)}` });
    }
  }
});

// The orchestrator died: do not linger with hundreds of sockets open.
process.on('disconnect', () => {
  setTimeout(() => process.exit(0), 500).unref();
});
process.on('uncaughtException', (err) => {
  send({ type: 'error', error: err.stack ?? String(err) });
});
