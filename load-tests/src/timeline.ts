// What the 1 s sampler makes of two snapshots: CPU between them, a timeline row, the progress line.
import type { Snapshot } from './session.ts';
import { uploadKbps } from './streamer.ts';

export interface TimelineRow {
  /** Seconds since the streamer started publishing. */
  t: number;
  phase: string;
  viewers: number;
  serverViewers: number | null;
  recvKbpsPerViewer: number | null;
  lossPct: number | null;
  uploadKbps: number | null;
  serverCpuPct: number | null;
  workersCpuPct: number | null;
  generatorCpuPct: number | null;
  chromiumCpuPct: number | null;
  boxCpuPct: number | null;
  chatSentPerS: number | null;
  chatDeliveredPerS: number | null;
}

const pct = (a: number | null, b: number | null, seconds: number) => (a === null || b === null || seconds <= 0 ? null : Math.max(0, ((b - a) / seconds) * 100));

/** CPU (percent of one core) between two snapshots. */
export function cpuBetween(a: Snapshot, b: Snapshot): { serverNode: number | null; serverWorkers: number | null; generator: number | null; chromium: number | null; box: number | null } {
  const s = (b.at - a.at) / 1000;
  return {
    serverNode: pct(a.serverNodeCpu, b.serverNodeCpu, s),
    serverWorkers: pct(a.serverWorkersCpu, b.serverWorkersCpu, s),
    generator: pct(a.generatorCpu, b.generatorCpu, s),
    chromium: pct(a.chromiumCpu, b.chromiumCpu, s),
    box: a.box && b.box && b.box.total > a.box.total ? ((b.box.busy - a.box.busy) / (b.box.total - a.box.total)) * 100 * b.box.cores : null,
  };
}

export function timelineRow(a: Snapshot, b: Snapshot, origin: number, phase: string): TimelineRow {
  const cpu = cpuBetween(a, b);
  const vb = b.viewers;
  let recv: number | null = null;
  let loss: number | null = null;
  // Rates come from the generator processes' own intervals: the sampler's clock would alias with theirs.
  if (vb && vb.connected > 0) {
    recv = vb.kbps / vb.connected;
    loss = vb.expectedPerS > 0 ? (Math.max(0, vb.expectedPerS - vb.packetsPerS) / vb.expectedPerS) * 100 : null;
  }
  return {
    t: Math.round(((b.at - origin) / 1000) * 10) / 10,
    phase,
    viewers: vb?.connected ?? 0,
    serverViewers: b.metrics?.viewers ?? null,
    recvKbpsPerViewer: recv,
    lossPct: loss,
    uploadKbps: a.upload && b.upload ? uploadKbps(a.upload, b.upload).transport : null,
    serverCpuPct: cpu.serverNode,
    workersCpuPct: cpu.serverWorkers,
    generatorCpuPct: cpu.generator,
    chromiumCpuPct: cpu.chromium,
    boxCpuPct: cpu.box,
    chatSentPerS: b.chat ? b.chat.sentPerS : null,
    chatDeliveredPerS: b.chat ? b.chat.deliveredPerS : null,
  };
}

const f0 = (v: number | null) => (v === null ? '–' : v.toFixed(0));

export function progressLine(r: TimelineRow, snap: Snapshot, chat: boolean): string {
  const v = snap.viewers;
  const parts = [
    `[${r.t.toFixed(0).padStart(4)}s ${r.phase.padEnd(8)}]`,
    v ? `viewers ${v.connected}/${v.started}${v.failed ? ` failed ${v.failed}` : ''} frames ${v.withFrame}` : 'viewers 0',
    `server ${f0(r.serverViewers)}`,
    `recv ${f0(r.recvKbpsPerViewer)} kbps/viewer loss ${r.lossPct === null ? '–' : r.lossPct.toFixed(2)} %`,
    `upload ${f0(r.uploadKbps)} kbps`,
  ];
  if (chat && snap.chat) parts.push(`chat ${f0(r.chatSentPerS)}/s delivered ${f0(r.chatDeliveredPerS)}/s`);
  parts.push(`cpu server ${f0(r.serverCpuPct)} % workers ${f0(r.workersCpuPct)} % generator ${f0(r.generatorCpuPct)} % chromium ${f0(r.chromiumCpuPct)} % box ${f0(r.boxCpuPct)} %`);
  return parts.join(' | ');
}
