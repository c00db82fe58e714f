// The capture-delay part of the report: Chrome's own share of each frame's
// trip, and the text lines for capture → viewer and the forwarding delay.
import type { LayerStats } from './browser/publisher.ts';
import type { StepSummary } from './report-step.ts';

const n0 = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v.toFixed(0));
const n1 = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v.toFixed(1));
const signed = (v: number | null | undefined) => (v === null || v === undefined ? '–' : `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(1)}`);

/** Chrome's mean encode time per frame and pacer delay per packet on the layer viewers receive most (the widest), ms. */
export function publisherMs(u: StepSummary['upload']): { encode: number; send: number } | null {
  const top = u?.layers.reduce<LayerStats | null>((best, l) => (best === null || l.frameWidth > best.frameWidth ? l : best), null);
  if (!u || !top || u.layerEncodeMs[top.rid] === undefined || u.layerSendDelayMs[top.rid] === undefined) return null;
  return { encode: u.layerEncodeMs[top.rid]!, send: u.layerSendDelayMs[top.rid]! };
}

export function delayLines(s: StepSummary): string[] {
  const lines: string[] = [];
  const cd = s.captureDelayMs;
  if (cd) {
    lines.push(
      `capture → viewer (ms)   p50 ${n1(cd.p50)} / p95 ${n1(cd.p95)} / p99 ${n1(cd.p99)} / max ${n1(cd.max)}   over ${cd.frames} frames of ${cd.viewers} viewers (abs-capture-time; ${cd.unplaced} frames unplaced, ${cd.negative} before their capture)`,
      `  split at SFU send (ms) capture → SFU send p50 ${n1(cd.toSfuSend?.p50)} / p99 ${n1(cd.toSfuSend?.p99)};  SFU send → viewer p50 ${n1(cd.sfuToViewer?.p50)} / p99 ${n1(cd.sfuToViewer?.p99)}   (generator event-loop delay p50 ${n1(s.generator.loopDelayMs?.p50)} / p99 ${n1(s.generator.loopDelayMs?.p99)})`,
    );
  }
  const fd = s.forwardingDelayMs;
  if (fd) {
    const chrome = (c: typeof fd.chromeAt1) => (c ? `${n1(c.encode)} + ${n1(c.send)}` : '–');
    lines.push(
      `server forwarding delay p50 ${signed(fd.p50)} / p99 ${signed(fd.p99)} ms, to SFU send p50 ${signed(fd.toSfuSend?.p50)} / p99 ${signed(fd.toSfuSend?.p99)} ms   (here minus at 1 viewer; server CPU ${n0(s.server.totalCpuPct)} % of a core, box ${n0(s.generator.boxPct)} of ${s.generator.boxCores ? s.generator.boxCores * 100 : '–'}; Chrome encode + pacer ms at 1 viewer ${chrome(fd.chromeAt1)}, here ${chrome(fd.chromeAtN)})`,
    );
  }
  return lines;
}
