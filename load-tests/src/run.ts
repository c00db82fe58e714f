import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import type { ChatTotals } from './chatter.ts';
import { ViewerFleet, type ChatFleet } from './fleets.ts';
import { decryptCountFor, probeCountFor, resolveOptions, rtcpCountFor, type LoadOptions } from './options.ts';
import { buildReport, type LoadReport } from './report.ts';
import { LoadSession, type Hooks, type Snapshot } from './session.ts';
import { nowMs } from './stats.ts';
import type { LoopDelay, ViewerJoin } from './viewer-process.ts';
import type { ViewerResult } from './viewer.ts';

/** Probes join one at a time, this far apart, so each one meets a steady crowd, not the other probes. */
export const PROBE_SPACING_MS = 500;
/** After the last probe starts: time for it to join and get its first frame before everyone leaves. */
export const PROBE_SETTLE_MS = 3000;

/** Chat sending stops this long before the hard stop so the last messages can arrive. */
export const CHAT_DRAIN_MS = 2000;

export interface StepParams {
  label: string;
  viewers: number;
  decrypt: number;
  /** Viewers besides the decrypting ones that send RTCP like browsers ('rtcp' mode). */
  rtcp: number;
  /** Hard stop, from the first join. */
  durationS: number;
  /** When set, the window lasts this long (then the probes' tail), if that is before the hard stop. */
  windowS: number | null;
  rampPerSecond: number;
  joinStorm: boolean;
  settleS: number;
  /** Chat messages/s sent by the session's chatters during the step. */
  chatRate: number;
  /** The last `probes` of the viewers join one by one (2/s) after the window, into the steady crowd. */
  probes: number;
}

export interface StepResult {
  params: StepParams;
  t0: number;
  /** The steady-state window: from the mark (all joined + settle) to the end. */
  markedAt: number | null;
  endedAt: number;
  viewers: ViewerResult[];
  lostProcesses: number;
  /** The worst viewer process's event-loop delay over the window. */
  generatorLoopDelayMs: LoopDelay | null;
  before: Snapshot;
  start: Snapshot | null;
  end: Snapshot;
  chat: ChatTotals | null;
  /** Chat accounts connected during the step: the server counts them as viewers too. */
  chatAccountsConnected: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** `k` of `pool`, evenly spread. */
function spread(pool: readonly number[], k: number): Set<number> {
  const out = new Set<number>();
  for (let j = 0; j < k; j++) out.add(pool[Math.floor((j * pool.length) / k)]!);
  return out;
}

/**
 * One step: the crowd joins (ramp or storm) and settles; the steady window is
 * measured; then the probes join one at a time (their TTFF is a newcomer's
 * into a steady N-viewer stream) and everyone leaves. The window ends before
 * the probes arrive: each join makes the publisher send keyframes, which would
 * count as upload growth that has nothing to do with the audience size. Chat,
 * when asked, runs from the first join to CHAT_DRAIN_MS before the hard stop.
 */
export async function runViewerStep(session: LoadSession, p: StepParams): Promise<StepResult> {
  const o = session.opts;
  const procs = p.viewers === 0 ? 0 : Math.min(p.viewers, o.viewerProcs > 0 ? o.viewerProcs : Math.max(1, Math.min(8, Math.ceil(p.viewers / 100))));
  const fleet = procs > 0 ? await ViewerFleet.start(procs, { wsUrl: session.wsUrl, localAddress: session.localAddress, layer: o.layer, joinTimeoutMs: o.joinTimeoutS * 1000, leanRx: o.leanRx }, session.hooks.log, o.generatorNice) : null;
  session.fleet = fleet;
  const phase = (name: string) => {
    session.phase = p.label === 'main' ? name : `${p.label} ${name}`;
  };
  try {
    const before = await session.snapshot();
    const t0 = nowMs() + 300;
    const crowd = p.viewers - p.probes;
    const everyone = Array.from({ length: crowd }, (_, i) => i);
    const decrypting = spread(everyone, p.decrypt);
    const rtcp = spread(
      everyone.filter((i) => !decrypting.has(i)),
      p.rtcp,
    );
    const joins: ViewerJoin[] = everyone.map((i) => ({
      index: i,
      at: p.joinStorm ? t0 : t0 + (i * 1000) / p.rampPerSecond,
      mode: decrypting.has(i) ? 'decrypt' : rtcp.has(i) ? 'rtcp' : 'count',
      probe: false,
    }));
    fleet?.join(joins);
    const lastJoinAt = joins.length ? joins[joins.length - 1]!.at : t0;
    const probeTailMs = p.probes > 0 ? p.probes * PROBE_SPACING_MS + PROBE_SETTLE_MS : 0;
    let hardStop = t0 + p.durationS * 1000;
    let windowEnd = hardStop - probeTailMs;
    const chat = p.chatRate > 0 ? session.chat : null;
    chat?.send(p.chatRate, t0, hardStop - CHAT_DRAIN_MS);
    phase('ramp');
    session.hooks.log(
      `${p.label}: ${p.viewers} viewers (${p.decrypt} decrypting, ${p.rtcp} more sending RTCP like browsers${p.probes ? `, the last ${p.probes} as probes after the window` : ''}) ${p.joinStorm ? 'in a join storm' : `at ${p.rampPerSecond}/s`} over ${procs} processes`,
    );

    let markAt: number | null = null;
    let start: Snapshot | null = null;
    while (nowMs() < windowEnd) {
      const now = nowMs();
      const tot = fleet?.totals();
      const settled = !tot || (tot.started >= crowd && tot.connected + tot.failed >= crowd);
      if (markAt === null && now >= lastJoinAt && settled) markAt = now + p.settleS * 1000;
      if (markAt !== null && start === null && now >= markAt) {
        fleet?.mark();
        start = await session.snapshot();
        phase('steady');
        if (p.windowS !== null && start.at + p.windowS * 1000 < windowEnd) {
          windowEnd = start.at + p.windowS * 1000;
          hardStop = windowEnd + probeTailMs;
        }
      }
      await sleep(Math.min(100, windowEnd - nowMs()));
    }
    fleet?.endWindow();
    const end = await session.snapshot();
    if (p.probes > 0 && fleet) {
      phase('probes');
      const probeAt = nowMs() + 200;
      fleet.join(Array.from({ length: p.probes }, (_, k) => ({ index: crowd + k, at: probeAt + k * PROBE_SPACING_MS, mode: 'count' as const, probe: true })));
      await sleep(hardStop - nowMs());
    }
    phase('stop');
    const stopped = fleet ? await fleet.stop() : { viewers: [], cpuMs: 0, lostProcesses: 0, loopDelayMs: null };
    session.retireGeneratorCpu(stopped.cpuMs);
    if (start === null && p.viewers > 0) session.note(`${p.label}: the viewers had not all joined and settled before the window's end; per-viewer figures run from each viewer's first packet`);
    if (stopped.lostProcesses > 0) session.note(`${p.label}: ${stopped.lostProcesses} viewer process(es) did not report (their viewers are missing from the figures)`);
    return {
      params: p,
      t0,
      markedAt: start?.at ?? null,
      endedAt: end.at,
      viewers: stopped.viewers,
      lostProcesses: stopped.lostProcesses,
      generatorLoopDelayMs: stopped.loopDelayMs,
      before,
      start,
      end,
      chat: null,
      chatAccountsConnected: session.chat ? session.chatAccounts : 0,
    };
  } finally {
    fleet?.kill();
    session.fleet = null;
  }
}

/** Longest wait for chat deliveries still in flight after the last send (an overloaded server queues seconds of them). */
const CHAT_DRAIN_MAX_MS = 30_000;

/** Waits until chat deliveries stop growing (the server's and the sockets' queues are empty), at most CHAT_DRAIN_MAX_MS. */
async function drainChat(chat: ChatFleet, hooks: Hooks): Promise<void> {
  const until = nowMs() + CHAT_DRAIN_MAX_MS;
  let last = -1;
  for (;;) {
    const t = chat.totals();
    const settled = t.delivered === last && t.acked + t.rejected >= t.sent;
    if (settled || nowMs() >= until) {
      if (!settled) hooks.log('chat: deliveries still arriving after 30 s of drain; the rest count as lost');
      return;
    }
    last = t.delivered;
    await sleep(1500);
  }
}

export function newRunTag(): string {
  return randomBytes(4).toString('hex');
}

/** Waits out the streamer's warm-up, then measures the 1-viewer baseline. */
export async function warmupAndBaseline(session: LoadSession): Promise<StepResult | null> {
  const o = session.opts;
  session.phase = 'warmup';
  await sleep(session.startedAt + o.warmupS * 1000 - nowMs());
  if (o.baselineS <= 0) return null;
  return runViewerStep(session, {
    label: 'baseline',
    viewers: 1,
    decrypt: 1,
    rtcp: 0,
    durationS: o.joinTimeoutS + 2 + o.baselineS + 5,
    windowS: o.baselineS,
    rampPerSecond: 1,
    joinStorm: false,
    settleS: 2,
    chatRate: 0,
    probes: 0,
  });
}

/** The whole run: streamer, 1-viewer baseline, then N viewers and M chatters for --duration. */
export async function runLoadTest(options: LoadOptions, hooks: Hooks): Promise<LoadReport> {
  const o = resolveOptions(options);
  const tag = newRunTag();
  const startedAt = new Date();
  const loadAvgAtStart = loadavg()[0]!;
  const session = await LoadSession.open(o, hooks, tag);
  try {
    const baseline = o.viewers > 0 ? await warmupAndBaseline(session) : null;
    const main = await runViewerStep(session, {
      label: 'main',
      viewers: o.viewers,
      decrypt: decryptCountFor(o, o.viewers),
      rtcp: rtcpCountFor(o, o.viewers),
      durationS: o.durationS,
      windowS: null,
      rampPerSecond: o.rampPerSecond,
      joinStorm: o.joinStorm,
      settleS: o.settleS,
      chatRate: o.chatters > 0 ? o.rate : 0,
      probes: probeCountFor(o, o.viewers),
    });
    if (session.chat) {
      await drainChat(session.chat, hooks);
      const stopped = await session.chat.stop(60_000);
      session.retireGeneratorCpu(stopped.cpuMs);
      session.chat = null;
      main.chat = stopped.totals;
      if (stopped.lostProcesses > 0) session.note(`${stopped.lostProcesses} chatter process(es) did not report`);
    }
    return buildReport({ session, tag, startedAt, loadAvgAtStart, baseline, steps: [main], capacity: null });
  } finally {
    await session.close();
  }
}
