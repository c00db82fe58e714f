import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { forwardingDelay } from './capture-delay.ts';
import { publisherMs } from './report-delay.ts';
import { summarizeStep, type StepSummary } from './report-step.ts';
import type { LoadOptions } from './options.ts';
import type { StepResult } from './run.ts';
import type { LoadSession } from './session.ts';
import type { TimelineRow } from './timeline.ts';
import { renderSvg } from './report-svg.ts';

export interface CapacityResult {
  lastGood: number | null;
  stoppedAt: number | null;
  stoppedBy: string | null;
  criteria: { maxLossPct: number; maxTtffP95Ms: number; maxFailedPct: number; minKbpsRatio: number };
}

export interface LoadReport {
  version: 1;
  tag: string;
  label: string;
  startedAt: string;
  url: string;
  streamId: number;
  options: Omit<LoadOptions, 'streamerToken'>;
  /** loadAvg: 1-minute load average when the run started (other work on the box skews every figure). */
  box: { cores: number; cpu: string; node: string; loadAvg: number };
  /** Null with --no-streamer. */
  streamer: {
    handler: string;
    captured: { width: number; height: number; frameRate: number };
    uploadAt1Kbps: number | null;
    uploadAtNKbps: number | null;
    /** upload at N viewers / upload at 1 viewer (whole send transport). */
    uploadRatio: number | null;
    videoRatio: number | null;
    /** Why the ratio may not be comparable (the encoder ran differently in the two windows), or null. */
    caveat: string | null;
    mediaResets: number;
  } | null;
  baseline: StepSummary | null;
  steps: StepSummary[];
  capacity: CapacityResult | null;
  checks: { name: string; ok: boolean; detail: string }[];
  notes: string[];
  timeline: TimelineRow[];
}


/**
 * The SFU keeps the streamer's upload flat; the encoder does not have to be:
 * starved of CPU (the box runs everything), Chrome drops frame rate or
 * resolution and the ratio measures that instead. Say so when it happened.
 */
function uploadCaveat(at1: NonNullable<StepSummary['upload']>, atN: NonNullable<StepSummary['upload']>): string | null {
  const reasons: string[] = [];
  for (const [rid, fps1] of Object.entries(at1.layerFps)) {
    const fpsN = atN.layerFps[rid];
    if (fpsN !== undefined && fps1 > 0 && Math.abs(fpsN - fps1) / fps1 > 0.1) reasons.push(`${rid} encoded ${fps1.toFixed(1)} fps at 1 viewer vs ${fpsN.toFixed(1)} at N`);
  }
  const limited = [...at1.layers, ...atN.layers].filter((l) => l.qualityLimitationReason && l.qualityLimitationReason !== 'none');
  if (limited.length) reasons.push(`encoder limited by ${[...new Set(limited.map((l) => l.qualityLimitationReason))].join('/')}`);
  return reasons.length ? `encoder state differs (${reasons.join('; ')}): the ratio reflects the encoder, not the SFU` : null;
}

export function buildReport(o: { session: LoadSession; tag: string; startedAt: Date; loadAvgAtStart: number; baseline: StepResult | null; steps: StepResult[]; capacity: CapacityResult | null }): LoadReport {
  const { session } = o;
  const { streamerToken: _omit, ...options } = session.opts;
  const baseline = o.baseline ? summarizeStep(session, o.baseline) : null;
  const steps = o.steps.map((s) => {
    const summary = summarizeStep(session, s);
    const delta = forwardingDelay(baseline?.captureDelayMs ?? null, summary.captureDelayMs);
    summary.forwardingDelayMs = delta && { ...delta, chromeAt1: publisherMs(baseline?.upload ?? null), chromeAtN: publisherMs(summary.upload) };
    return summary;
  });
  const last = [...steps].reverse().find((s) => s.upload !== null) ?? null;
  const at1 = baseline?.upload ?? null;
  const atN = o.capacity ? (steps.filter((s) => s.upload && s.connected === s.viewersTarget).at(-1)?.upload ?? last?.upload ?? null) : (last?.upload ?? null);
  const checks: LoadReport['checks'] = [];
  for (const s of steps) {
    if (s.server.viewersCounted !== null) {
      checks.push({
        name: `${s.label}: viewers the server counts = viewers connected`,
        ok: s.server.viewersCounted === s.server.viewersExpected,
        detail: `server ${s.server.viewersCounted} (${s.server.viewersCountSource}), expected ${s.server.viewersExpected} (${s.server.viewersExpected - s.server.chatAccounts} media viewers + ${s.server.chatAccounts} chat accounts, at the window's end)`,
      });
    }
    if (s.chat) {
      const c = s.chat;
      checks.push({
        name: `${s.label}: chat sent = acked + rejected + unanswered + unsendable`,
        ok: c.sent === c.acked + Object.values(c.rejected).reduce((a, b) => a + b, 0) + c.unanswered + c.unsendable,
        detail: `${c.sent} = ${c.acked} + ${Object.values(c.rejected).reduce((a, b) => a + b, 0)} + ${c.unanswered} + ${c.unsendable}`,
      });
      checks.push({
        name: `${s.label}: chat delivered + lost = acked × receivers`,
        ok: c.delivered + c.lost === c.acked * c.receivers,
        detail: `${c.delivered} + ${c.lost} = ${c.acked} × ${c.receivers}`,
      });
    }
  }
  return {
    version: 1,
    tag: o.tag,
    label: session.opts.label,
    startedAt: o.startedAt.toISOString(),
    url: session.opts.url,
    streamId: session.streamId,
    options,
    box: { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version, loadAvg: o.loadAvgAtStart },
    streamer: session.streamer
      ? {
          handler: session.streamer.info.handler,
          captured: session.streamer.info.captured,
          uploadAt1Kbps: at1?.transportKbps ?? null,
          uploadAtNKbps: atN?.transportKbps ?? null,
          uploadRatio: at1 && atN && at1.transportKbps > 0 ? atN.transportKbps / at1.transportKbps : null,
          videoRatio: at1 && atN && at1.videoKbps > 0 ? atN.videoKbps / at1.videoKbps : null,
          caveat: at1 && atN ? uploadCaveat(at1, atN) : null,
          mediaResets: session.streamer.mediaResets,
        }
      : null,
    baseline,
    steps,
    capacity: o.capacity,
    checks,
    notes: [...session.notes],
    timeline: session.timeline,
  };
}

/** Writes `<outDir>/<stamp>-<tag>[-label].{json,svg}`; returns the paths. */
export function writeReport(r: LoadReport, outDir: string): { json: string; svg: string } {
  mkdirSync(outDir, { recursive: true });
  const stamp = r.startedAt.replace(/[:.]/g, '-').replace('T', '_').slice(0, 19);
  const base = join(outDir, `${stamp}-${r.tag}${r.label ? `-${r.label.replace(/[^A-Za-z0-9_.-]/g, '_')}` : ''}`);
  writeFileSync(`${base}.json`, JSON.stringify(r, null, 1));
  writeFileSync(`${base}.svg`, renderSvg(r));
  return { json: `${base}.json`, svg: `${base}.svg` };
}
