import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { LayerStats } from './browser/publisher.ts';
import { forwardingDelay, summarizeCaptureDelay, type CaptureDelaySummary } from './capture-delay.ts';
import { delayLines, publisherMs } from './report-delay.ts';
import type { ChatTotals } from './chatter.ts';
import type { LoadOptions } from './options.ts';
import type { StepResult } from './run.ts';
import { cpuBetween, type LoadSession, type Snapshot, type TimelineRow } from './session.ts';
import { summarize, type Summary } from './stats.ts';
import { uploadKbps, type UploadSample } from './streamer.ts';
import { renderSvg } from './report-svg.ts';
import { summarizeFeedback, type FeedbackSummary, type RtcpCounts } from './rtcp-sent.ts';
import { serverViewerCount, type ServerViewerCount } from './server-count.ts';

export interface StepSummary {
  label: string;
  viewersTarget: number;
  connected: number;
  failed: number;
  /** Failure messages, grouped. */
  failures: Record<string, number>;
  /** Measured window (s); null when the run never settled. */
  windowS: number | null;
  /** Join start → consumers resumed over a connected transport (ms). */
  joinMs: Summary;
  /** Median ms since join start at which each join milestone was reached. */
  joinPhasesP50: Record<string, number>;
  /** Join start → first complete video frame (ms), viewers that joined in the ramp (or storm). */
  ttffMs: Summary;
  /** The same for the probes: viewers joining one by one once the crowd was steady. */
  probeTtffMs: Summary;
  probeJoinMs: Summary;
  /** Join start → fifth complete frame (ms). */
  playingMs: Summary;
  /** Connected viewers that never received a complete frame. */
  noFrame: number;
  /** Viewers whose video paused over 1 s after the first frame. */
  stalled: number;
  /** Per-viewer received bitrate over the window (kbps, SRTP packets incl. headers). */
  recvKbps: Summary;
  /** Per-viewer RTP packets per second (video + audio) over the window. */
  pktPerS: Summary;
  /** Per-viewer packet loss over the window (%, RTP sequence gaps, no retransmission). */
  lossPct: Summary;
  /** All viewers: 1 − Σreceived / Σexpected, in %. */
  aggregateLossPct: number | null;
  fps: Summary;
  decrypt: {
    viewers: number;
    framesValid: number;
    keyframesValid: number;
    invalidPackets: number;
    /** Decrypted packets / packets on the wire (SRTP authentication failures drop packets). */
    decryptedRatio: number | null;
    sizes: Record<string, number>;
    firstKeyframeMs: Summary;
  };
  /** Capture (the publisher's abs-capture-time) → arrival of each frame's first packet at the crowd's viewers, over the window (ms). */
  captureDelayMs: CaptureDelaySummary | null;
  /**
   * captureDelayMs here minus at the 1-viewer baseline: the server's forwarding delay under this load (ms).
   * `chromeAt1`/`chromeAtN`: Chrome's mean encode time per frame and pacer delay per packet on the widest
   * layer in each window; when they moved, part of the difference is the publisher's, not the server's.
   */
  forwardingDelayMs: { p50: number; p99: number; toSfuSend: { p50: number; p99: number } | null; chromeAt1: { encode: number; send: number } | null; chromeAtN: { encode: number; send: number } | null } | null;
  /** RTCP the crowd sent back like browsers do, and how its media was received. */
  feedback: FeedbackSummary;
  /**
   * The streamer's send transport over the window. `layerKbps`/`layerFps`: per simulcast
   * layer (rid), from bytes and frames encoded; `layers`: the encoder's state at the end.
   */
  upload: {
    transportKbps: number;
    videoKbps: number;
    audioKbps: number;
    layerKbps: Record<string, number>;
    layerFps: Record<string, number>;
    /** Mean encode time per frame and mean packetizer → wire delay per packet (Chrome's pacer), ms. */
    layerEncodeMs: Record<string, number>;
    layerSendDelayMs: Record<string, number>;
    layers: LayerStats[];
  } | null;
  server: {
    source: 'proc' | 'metrics' | 'none';
    inProcess: boolean;
    nodeCpuPct: number | null;
    workersCpuPct: number | null;
    totalCpuPct: number | null;
    cpuPerViewerPct: number | null;
    rssBytes: number | null;
    rssBeforeBytes: number | null;
    rssPerViewerBytes: number | null;
    /** The server's own count sampled at the end of the window (null: not measured), where it came from, and what it should be. */
    viewersCounted: number | null;
    viewersCountSource: ServerViewerCount['source'];
    viewersExpected: number;
    /** Signed-in chat accounts connected: the server counts each as one viewer. */
    chatAccounts: number;
    websocketConnections: number | null;
    consumersByWorker: Record<string, number>;
    eventLoopLagP99Ms: number | null;
    /** Cluster mode (`--nodes`): one row per node. */
    perNode: NodeFigures[];
  };
  /** CPU in % of one core; `otherPct` is what processes outside this test used on the box meanwhile. */
  generator: {
    cpuPct: number | null;
    chromiumPct: number | null;
    boxPct: number | null;
    boxCores: number | null;
    otherPct: number | null;
    /** The worst viewer process's event-loop delay over the window (ms): part of every capture → viewer figure. */
    loopDelayMs: { p50: number; p99: number } | null;
  };
  chat: ChatTotals | null;
  /** One compact row per viewer, for digging into outliers. */
  perViewer: { i: number; mode: string; receive: string; rtcpSent: RtcpCounts | null; ok: boolean; error: string | null; joinMs: number | null; ttffMs: number | null; playingMs: number | null; kbps: number | null; lossPct: number | null; maxGapMs: number; phases: Record<string, number> }[];
}

export interface CapacityResult {
  lastGood: number | null;
  stoppedAt: number | null;
  stoppedBy: string | null;
  criteria: { maxLossPct: number; maxTtffP95Ms: number; maxFailedPct: number };
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

function groupFailures(results: StepResult['viewers']): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of results) if (!r.ok && r.error) out[r.error] = (out[r.error] ?? 0) + 1;
  return out;
}

type LayerFigures = Pick<NonNullable<StepSummary['upload']>, 'layerKbps' | 'layerFps' | 'layerEncodeMs' | 'layerSendDelayMs'>;

function perLayer(a: UploadSample, b: UploadSample): LayerFigures {
  const s = (b.at - a.at) / 1000;
  const out: LayerFigures = { layerKbps: {}, layerFps: {}, layerEncodeMs: {}, layerSendDelayMs: {} };
  for (const l of b.layers) {
    const prev = a.layers.find((x) => x.rid === l.rid);
    if (!prev || s <= 0) continue;
    const frames = l.framesEncoded - prev.framesEncoded;
    const packets = l.packetsSent - prev.packetsSent;
    out.layerKbps[l.rid] = ((l.bytesSent - prev.bytesSent) * 8) / s / 1000;
    out.layerFps[l.rid] = frames / s;
    if (frames > 0) out.layerEncodeMs[l.rid] = ((l.totalEncodeTime - prev.totalEncodeTime) * 1000) / frames;
    if (packets > 0) out.layerSendDelayMs[l.rid] = ((l.totalPacketSendDelay - prev.totalPacketSendDelay) * 1000) / packets;
  }
  return out;
}

export function summarizeStep(session: LoadSession, step: StepResult): StepSummary {
  const v = step.viewers;
  const ok = v.filter((r) => r.ok);
  const crowd = v.filter((r) => !r.probe);
  const crowdOk = crowd.filter((r) => r.ok);
  const probes = v.filter((r) => r.probe);
  // Window figures come from the crowd: the probes arrive during the window.
  const windows = crowdOk.flatMap((r) => (r.window ? [r.window] : []));
  const totalExpected = windows.reduce((a, w) => a + w.expected, 0);
  const totalPackets = windows.reduce((a, w) => a + w.packets, 0);
  const dec = v.filter((r) => r.decrypt);
  const sizes: Record<string, number> = {};
  for (const r of dec) if (r.decrypt && r.decrypt.width) sizes[`${r.decrypt.width}x${r.decrypt.height}`] = (sizes[`${r.decrypt.width}x${r.decrypt.height}`] ?? 0) + 1;
  const wirePackets = dec.reduce((a, r) => a + r.total.packets, 0);
  const decrypted = dec.reduce((a, r) => a + (r.decrypt ? r.decrypt.videoPackets + r.decrypt.audioPackets : 0), 0);
  const start = step.start;
  const end = step.end;
  const cpu = start ? cpuBetween(start, end) : null;
  const counted = serverViewerCount(end);
  const upload = start?.upload && end.upload ? uploadKbps(start.upload, end.upload) : null;
  const totalCpu = cpu && cpu.serverNode !== null && cpu.serverWorkers !== null ? cpu.serverNode + cpu.serverWorkers : null;
  const n = ok.length;
  const rssBefore = step.before.serverRssBytes;
  const rss = end.serverRssBytes;
  return {
    label: step.params.label,
    viewersTarget: step.params.viewers,
    connected: n,
    failed: v.length - n + (step.params.viewers - v.length),
    failures: groupFailures(v),
    windowS: start ? (end.at - start.at) / 1000 : null,
    joinMs: summarize(crowdOk.flatMap((r) => (r.joinMs === null ? [] : [r.joinMs]))),
    joinPhasesP50: Object.fromEntries(
      ['ws', 'transport', 'consumed', 'answered', 'dtls', 'resumed'].map((k) => [k, summarize(ok.flatMap((r) => (r.phases[k] === undefined ? [] : [r.phases[k]!]))).p50 ?? -1]),
    ),
    ttffMs: summarize(crowd.flatMap((r) => (r.ttffMs === null ? [] : [r.ttffMs]))),
    probeTtffMs: summarize(probes.flatMap((r) => (r.ttffMs === null ? [] : [r.ttffMs]))),
    probeJoinMs: summarize(probes.flatMap((r) => (r.joinMs === null ? [] : [r.joinMs]))),
    playingMs: summarize(crowd.flatMap((r) => (r.playingMs === null ? [] : [r.playingMs]))),
    noFrame: ok.filter((r) => r.ttffMs === null).length,
    stalled: ok.filter((r) => r.maxFrameGapMs > 1000).length,
    recvKbps: summarize(windows.map((w) => w.kbps)),
    pktPerS: summarize(windows.map((w) => w.packets / w.seconds)),
    lossPct: summarize(windows.map((w) => w.loss * 100)),
    aggregateLossPct: totalExpected > 0 ? (Math.max(0, totalExpected - totalPackets) / totalExpected) * 100 : null,
    fps: summarize(windows.map((w) => w.fps)),
    decrypt: {
      viewers: dec.length,
      framesValid: dec.reduce((a, r) => a + (r.decrypt?.framesValid ?? 0), 0),
      keyframesValid: dec.reduce((a, r) => a + (r.decrypt?.keyframesValid ?? 0), 0),
      invalidPackets: dec.reduce((a, r) => a + (r.decrypt?.invalidPackets ?? 0), 0),
      decryptedRatio: wirePackets > 0 ? decrypted / wirePackets : null,
      sizes,
      firstKeyframeMs: summarize(dec.flatMap((r) => (r.decrypt?.firstKeyframeMs == null ? [] : [r.decrypt.firstKeyframeMs]))),
    },
    captureDelayMs: summarizeCaptureDelay(crowdOk.map((r) => r.captureDelay)),
    forwardingDelayMs: null,
    feedback: summarizeFeedback(crowdOk),
    upload: upload
      ? {
          transportKbps: upload.transport,
          videoKbps: upload.video,
          audioKbps: upload.audio,
          ...perLayer(start!.upload!, end.upload!),
          layers: end.upload!.layers,
        }
      : null,
    server: {
      source: end.serverSource,
      inProcess: session.serverInProcess,
      nodeCpuPct: cpu?.serverNode ?? null,
      workersCpuPct: cpu?.serverWorkers ?? null,
      totalCpuPct: totalCpu,
      cpuPerViewerPct: totalCpu !== null && n > 0 ? totalCpu / n : null,
      rssBytes: rss,
      rssBeforeBytes: rssBefore,
      // RSS moves by tens of MiB with GC: per viewer only means something for a crowd.
      rssPerViewerBytes: rss !== null && rssBefore !== null && n >= 20 ? (rss - rssBefore) / n : null,
      viewersCounted: counted.count,
      viewersCountSource: counted.source,
      // At the window's end: the crowd, not the probes (they join after it).
      viewersExpected: crowdOk.length + step.chatAccountsConnected,
      chatAccounts: step.chatAccountsConnected,
      websocketConnections: end.metrics?.websocketConnections ?? null,
      consumersByWorker: end.metrics?.consumersByWorker ?? {},
      eventLoopLagP99Ms: end.metrics?.eventLoopLagP99Seconds != null ? end.metrics.eventLoopLagP99Seconds * 1000 : null,
      perNode: perNode(start, end),
    },
    generator: {
      cpuPct: cpu?.generator ?? null,
      chromiumPct: cpu?.chromium ?? null,
      boxPct: cpu?.box ?? null,
      boxCores: end.box?.cores ?? null,
      loopDelayMs: step.generatorLoopDelayMs,
      otherPct:
        cpu && cpu.box !== null && totalCpu !== null && cpu.generator !== null
          ? Math.max(0, cpu.box - totalCpu - cpu.generator - (cpu.chromium ?? 0) + (session.serverInProcess ? (cpu.serverNode ?? 0) : 0))
          : null,
    },
    chat: step.chat,
    perViewer: v.map((r) => ({
      i: r.index,
      mode: r.probe ? `${r.mode} probe` : r.mode,
      receive: r.receivePath,
      rtcpSent: r.window?.rtcpSent ?? null,
      ok: r.ok,
      error: r.error,
      joinMs: r.joinMs === null ? null : Math.round(r.joinMs),
      ttffMs: r.ttffMs === null ? null : Math.round(r.ttffMs),
      playingMs: r.playingMs === null ? null : Math.round(r.playingMs),
      kbps: r.window ? Math.round(r.window.kbps) : null,
      lossPct: r.window ? Math.round(r.window.loss * 1e4) / 100 : null,
      maxGapMs: Math.round(r.maxFrameGapMs),
      phases: r.phases,
    })),
  };
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

// ---------- text ----------

const n0 = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v.toFixed(0));
const n1 = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v.toFixed(1));
const n2 = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v.toFixed(2));
const mb = (v: number | null | undefined) => (v === null || v === undefined ? '–' : (v / 1048576).toFixed(1));
const pcts = (s: Summary, f = n0) => `p50 ${f(s.p50)} / p95 ${f(s.p95)} / p99 ${f(s.p99)}`;

function stepLines(s: StepSummary): string[] {
  const lines =
    s.viewersTarget === 0
      ? []
      : [
          `viewers                 ${s.connected}/${s.viewersTarget} connected${s.failed ? `, ${s.failed} failed` : ''}${Object.keys(s.failures).length ? ` (${Object.entries(s.failures).map(([e, k]) => `${k}× ${e}`).join('; ')})` : ''}`,
          `window                  ${n1(s.windowS)} s`,
          `join time (ms)          ${pcts(s.joinMs)}   (p50 milestones: ${Object.entries(s.joinPhasesP50).map(([k, v]) => `${k} ${v}`).join(', ')})`,
          `time to first frame (ms) ${pcts(s.ttffMs)}   no frame: ${s.noFrame}`,
          ...(s.probeTtffMs.count || s.probeJoinMs.count
            ? [`newcomers (probes), ms  TTFF ${pcts(s.probeTtffMs)}   join p50 ${n0(s.probeJoinMs.p50)}   (${s.probeTtffMs.count} probes joining one by one into the steady crowd)`]
            : []),
          `time to 5 frames (ms)   ${pcts(s.playingMs)}   stalled >1 s after first frame: ${s.stalled}`,
          `received kbps/viewer    p50 ${n0(s.recvKbps.p50)} / p5 ${n0(s.recvKbps.p5)}   fps p50 ${n1(s.fps.p50)} / p5 ${n1(s.fps.p5)}   packets/s p50 ${n0(s.pktPerS.p50)}`,
          `packet loss %           p50 ${n2(s.lossPct.p50)} / p95 ${n2(s.lossPct.p95)} / max ${n2(s.lossPct.max)}   all viewers ${n2(s.aggregateLossPct)}`,
          `decrypting viewers      ${s.decrypt.viewers}: ${s.decrypt.framesValid} valid VP8 frames, ${s.decrypt.keyframesValid} keyframes (${Object.entries(s.decrypt.sizes).map(([k, c]) => `${k}×${c}`).join(', ') || '–'}), ${s.decrypt.invalidPackets} invalid packets, decrypted/wire ${s.decrypt.decryptedRatio === null ? '–' : (s.decrypt.decryptedRatio * 100).toFixed(2) + ' %'}`,
        ];
  lines.push(...delayLines(s));
  const fb = s.feedback;
  if (s.viewersTarget > 0) {
    const r = fb.perViewerPerS;
    lines.push(
      `RTCP like browsers      ${fb.viewers} viewers (${n1(fb.sharePct)} %)${r ? `, each per s: RR ${n1(r.rr)}, NACK ${n1(r.nack)}, transport-cc ${n1(r.twcc)}, REMB ${n1(r.remb)}, PLI ${n1(r.pli)}; received kbps p50 ${n0(fb.kbpsP50)}` : ''}   receive path: ${Object.entries(fb.receivePaths).map(([k, c]) => `${k} ${c}`).join(', ')}`,
    );
  }
  if (s.upload) {
    lines.push(
      `streamer upload kbps    ${n0(s.upload.transportKbps)} (video ${n0(s.upload.videoKbps)}, audio ${n0(s.upload.audioKbps)}; layers ${s.upload.layers.map((l) => `${l.rid} ${l.frameWidth}x${l.frameHeight} ${n0(s.upload!.layerKbps[l.rid])} kbps @${n1(s.upload!.layerFps[l.rid])} fps${l.qualityLimitationReason && l.qualityLimitationReason !== 'none' ? ` limited:${l.qualityLimitationReason}` : ''}`).join(', ')})`,
    );
  }
  const sv = s.server;
  lines.push(
    `server CPU % of a core  node ${n0(sv.nodeCpuPct)} + mediasoup ${n0(sv.workersCpuPct)} = ${n0(sv.totalCpuPct)}   per viewer ${n2(sv.cpuPerViewerPct)}   (${sv.source}${sv.inProcess ? ', server in this process: node CPU includes the harness' : ''})`,
    `server RSS MiB          ${mb(sv.rssBytes)} (before viewers ${mb(sv.rssBeforeBytes)}; per viewer ${sv.rssPerViewerBytes === null ? '–' : (sv.rssPerViewerBytes / 1024).toFixed(0) + ' KiB'})`,
    `server counts           viewers ${sv.viewersCounted === null ? 'not measured' : `${sv.viewersCounted} (${sv.viewersCountSource})`} (expected ${sv.viewersExpected} at the window's end)   sockets ${n0(sv.websocketConnections)}   consumers/worker ${Object.entries(sv.consumersByWorker).map(([w, c]) => `#${w}:${c}`).join(' ') || '–'}   loop lag p99 ${n1(sv.eventLoopLagP99Ms)} ms`,
    ...sv.perNode.map(
      (n) =>
        `  node ${n.node.padEnd(18)} ${n.answered ? `CPU % node ${n0(n.nodeCpuPct)} + mediasoup ${n0(n.workersCpuPct)} = ${n0(n.totalCpuPct)}   viewers ${n0(n.viewers)}   sockets ${n0(n.websocketConnections)}` : 'did not answer /metrics'}`,
    ),
    `generator CPU %         viewers+chatters+harness ${n0(s.generator.cpuPct)}   chromium ${n0(s.generator.chromiumPct)}   box ${n0(s.generator.boxPct)} of ${s.generator.boxCores ? s.generator.boxCores * 100 : '–'} (other processes ${n0(s.generator.otherPct)})`,
  );
  if (s.chat) {
    const c = s.chat;
    const rejected = Object.entries(c.rejected).map(([k, v]) => `${v}× ${k}`).join(', ');
    lines.push(
      `chat                    ${c.sockets} sockets (${c.connectFailed} failed, ${c.dropped} dropped${c.dropped ? `: ${Object.entries(c.dropReasons).map(([k, v]) => `${v}× ${k}`).join(', ')}` : ''}), sent ${c.sent}${c.skipped ? ` (${c.skipped} skipped: the generator fell behind)` : ''}, acked ${c.acked}, rejected ${rejected || 0}, unanswered ${c.unanswered}`,
      `chat ack (ms)           p50 ${n1(c.ack.p50)} / p99 ${n1(c.ack.p99)} / max ${n1(c.ack.max)}`,
      `chat delivery (ms)      p50 ${n1(c.delivery.p50)} / p99 ${n1(c.delivery.p99)} / max ${n1(c.delivery.max)}   to ${c.receivers} receivers`,
      `chat latency split (ms) send → server handles it p50 ${n1(c.toServer.p50)} / p99 ${n1(c.toServer.p99)};  server → receiver p50 ${n1(c.fromServer.p50)} / p99 ${n1(c.fromServer.p99)}   (server's createdAt, 1 ms resolution)`,
      `chat deliveries         ${c.delivered}/${c.expectedDeliveries} (lost ${c.lost}, duplicated ${c.duplicates}, delivered before ack ${c.deliveredUnacked}); send timer lag max ${n0(c.maxSendLagMs)} ms`,
    );
  }
  return lines;
}

/** Cluster mode: each node's CPU over the window and its counts at the end, from its own /metrics. */
function perNode(start: Snapshot | null, end: Snapshot): NodeFigures[] {
  if (!end.nodes) return [];
  const seconds = start ? (end.at - start.at) / 1000 : 0;
  const rate = (a: number | null | undefined, b: number | null | undefined) => (a == null || b == null || seconds <= 0 ? null : Math.max(0, ((b - a) / seconds) * 100));
  return end.nodes.map((n, i) => {
    const before = start?.nodes?.[i]?.metrics;
    const m = n.metrics;
    const nodeCpuPct = rate(before?.processCpuSeconds, m?.processCpuSeconds);
    const workersCpuPct = rate(before?.workerCpuSeconds, m?.workerCpuSeconds);
    return {
      node: m?.nodeId ?? n.url,
      url: n.url,
      answered: m !== null,
      nodeCpuPct,
      workersCpuPct,
      totalCpuPct: nodeCpuPct !== null && workersCpuPct !== null ? nodeCpuPct + workersCpuPct : null,
      viewers: m?.viewers ?? null,
      websocketConnections: m?.websocketConnections ?? null,
    };
  });
}

export interface NodeFigures {
  /** Its NODE_ID (from /metrics), else the URL given. */
  node: string;
  url: string;
  answered: boolean;
  nodeCpuPct: number | null;
  workersCpuPct: number | null;
  totalCpuPct: number | null;
  viewers: number | null;
  websocketConnections: number | null;
}

export function formatReport(r: LoadReport): string {
  const out: string[] = [];
  out.push(`RED-RED Live load test ${r.tag}${r.label ? ` (${r.label})` : ''} — ${r.url} stream ${r.streamId}, ${r.box.cores} cores ${r.box.cpu}, load average ${r.box.loadAvg.toFixed(1)} at start`);
  const st = r.streamer;
  if (st) {
    out.push(
      `streamer: ${st.handler}, capture ${st.captured.width}x${st.captured.height}@${st.captured.frameRate}; upload at 1 viewer ${n0(st.uploadAt1Kbps)} kbps, at N ${n0(st.uploadAtNKbps)} kbps, ratio N/1 ${st.uploadRatio === null ? '–' : st.uploadRatio.toFixed(3)} (video only ${st.videoRatio === null ? '–' : st.videoRatio.toFixed(3)})${st.mediaResets ? `, ${st.mediaResets} media resets` : ''}`,
    );
    if (st.caveat) out.push(`  caveat: ${st.caveat}`);
  } else {
    out.push('streamer: none (--no-streamer)');
  }
  if (r.baseline) {
    out.push('', `— baseline (1 viewer) —`, ...stepLines(r.baseline));
  }
  for (const s of r.steps) out.push('', `— ${s.label === 'main' ? `${s.viewersTarget} viewers` : s.label} —`, ...stepLines(s));
  if (r.capacity) {
    out.push('', '— capacity search —');
    out.push('viewers | connected | newcomer TTFF p95 ms | ramp TTFF p95 ms | loss % (all) | kbps p50 | server CPU % | box CPU %');
    for (const s of r.steps) {
      out.push(
        `${String(s.viewersTarget).padStart(7)} | ${String(s.connected).padStart(9)} | ${n0(s.probeTtffMs.p95).padStart(20)} | ${n0(s.ttffMs.p95).padStart(16)} | ${n2(s.aggregateLossPct).padStart(12)} | ${n0(s.recvKbps.p50).padStart(8)} | ${n0(s.server.totalCpuPct).padStart(12)} | ${n0(s.generator.boxPct).padStart(9)}`,
      );
    }
    out.push(
      `last good: ${r.capacity.lastGood ?? 'none'} viewers${r.capacity.stoppedBy ? `; stopped at ${r.capacity.stoppedAt}: ${r.capacity.stoppedBy}` : '; never failed up to --max'}` +
        ` (criteria: loss > ${r.capacity.criteria.maxLossPct} %, newcomers' p95 TTFF > ${r.capacity.criteria.maxTtffP95Ms} ms, failed joins > ${r.capacity.criteria.maxFailedPct} %)`,
    );
  }
  if (r.checks.length) {
    out.push('', '— consistency —');
    for (const c of r.checks) out.push(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
  }
  if (r.notes.length) out.push('', '— notes —', ...r.notes);
  return out.join('\n');
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
