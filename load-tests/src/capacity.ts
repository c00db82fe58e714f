import { loadavg } from 'node:os';
import { decryptCountFor, probeCountFor, resolveOptions, rtcpCountFor, type LoadOptions } from './options.ts';
import { buildReport, type CapacityResult, type LoadReport } from './report.ts';
import { summarizeStep } from './report-step.ts';
import { newRunTag, runViewerStep, warmupAndBaseline, type StepResult } from './run.ts';
import { LoadSession, type Hooks } from './session.ts';
import { percentile } from './stats.ts';

/** A step fails when more joins than this fail. */
const MAX_FAILED_JOINS = 0.01;
/**
 * A step fails when the crowd's median bitrate falls under this share of the
 * 1-viewer baseline's: nothing is lost, but the publisher has dropped its top
 * layer (a saturated box delays its bandwidth feedback), so viewers no longer
 * get the stream the search is about.
 */
const MIN_KBPS_RATIO = 0.9;

/**
 * Capacity search: one streamer, then steps of start, start+step, … viewers
 * (each a fresh set that joins, settles, is measured for --step-duration and
 * leaves) until a step breaks a criterion. The answer is the last good step.
 */
export async function searchCapacity(options: LoadOptions, hooks: Hooks): Promise<LoadReport> {
  const o = resolveOptions(options);
  const c = o.capacity;
  if (!c) throw new Error('searchCapacity needs capacity options');
  const tag = newRunTag();
  const startedAt = new Date();
  const loadAvgAtStart = loadavg()[0]!;
  const session = await LoadSession.open(o, hooks, tag);
  const steps: StepResult[] = [];
  const result: CapacityResult = {
    lastGood: null,
    stoppedAt: null,
    stoppedBy: null,
    criteria: { maxLossPct: c.maxLoss * 100, maxTtffP95Ms: c.maxTtffP95Ms, maxFailedPct: MAX_FAILED_JOINS * 100, minKbpsRatio: MIN_KBPS_RATIO },
  };
  try {
    const baseline = await warmupAndBaseline(session);
    const baselineKbps = baseline ? summarizeStep(session, baseline).recvKbps.p50 : null;
    for (let n = c.start; n <= c.max; n += c.step) {
      const rampS = o.joinStorm ? 0 : n / o.rampPerSecond;
      const step = await runViewerStep(session, {
        label: `${n}`,
        viewers: n,
        decrypt: decryptCountFor(o, n),
        rtcp: rtcpCountFor(o, n),
        durationS: rampS + o.joinTimeoutS + o.settleS + c.stepSeconds + 10,
        windowS: c.stepSeconds,
        rampPerSecond: o.rampPerSecond,
        joinStorm: o.joinStorm,
        settleS: o.settleS,
        chatRate: o.chatters > 0 ? o.rate : 0,
        probes: probeCountFor(o, n),
      });
      steps.push(step);
      const s = summarizeStep(session, step);
      const reasons: string[] = [];
      if (s.aggregateLossPct === null || s.aggregateLossPct > c.maxLoss * 100) reasons.push(`loss ${s.aggregateLossPct?.toFixed(2) ?? 'unknown'} %`);
      // The probes' TTFF: what a newcomer to an N-viewer stream sees. A probe without a frame counts as infinite.
      const probes = step.viewers.filter((v) => v.probe);
      const probeTtffs = [...probes.map((v) => v.ttffMs ?? Infinity), ...Array(Math.max(0, step.params.probes - probes.length)).fill(Infinity)];
      const p95 = percentile(probeTtffs, 95);
      if (p95 !== null && p95 > c.maxTtffP95Ms) reasons.push(`probe p95 TTFF ${Number.isFinite(p95) ? `${p95.toFixed(0)} ms` : 'none'} (${probeTtffs.filter((t) => !Number.isFinite(t)).length} without a frame)`);
      if (s.failed > n * MAX_FAILED_JOINS) reasons.push(`${s.failed} failed joins`);
      const kbps = s.recvKbps.p50;
      if (baselineKbps !== null && kbps !== null && kbps < baselineKbps * MIN_KBPS_RATIO) reasons.push(`kbps p50 ${kbps.toFixed(0)} < ${MIN_KBPS_RATIO * 100} % of ${baselineKbps.toFixed(0)} at 1 viewer`);
      hooks.log(
        `capacity step ${n}: loss ${s.aggregateLossPct?.toFixed(2) ?? '–'} %, probe p95 TTFF ${p95 === null ? '–' : p95.toFixed(0)} ms (crowd p95 ${s.ttffMs.p95?.toFixed(0) ?? '–'} ms), ${s.failed} failed → ${reasons.length ? `FAIL (${reasons.join(', ')})` : 'ok'}`,
      );
      if (reasons.length) {
        result.stoppedAt = n;
        result.stoppedBy = reasons.join(', ');
        break;
      }
      result.lastGood = n;
    }
    return buildReport({ session, tag, startedAt, loadAvgAtStart, baseline, steps, capacity: result });
  } finally {
    await session.close();
  }
}
