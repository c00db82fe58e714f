// One step of a run summarised: what its viewers, the streamer's upload, the
// server and the generator did over the step's measured window.
import type { LayerStats } from './browser/publisher.ts';
import { summarizeCaptureDelay, type CaptureDelaySummary } from './capture-delay.ts';
import type { ChatTotals } from './chatter.ts';
import type { StepResult } from './run.ts';
import type { LoadSession, Snapshot } from './session.ts';
import { cpuBetween } from './timeline.ts';
import { summarize, type Summary } from './stats.ts';
import { uploadKbps, type UploadSample } from './streamer.ts';
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
