import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ViewerLayer } from './viewer.ts';

export interface CapacityOptions {
  /** Viewers in the first step. */
  start: number;
  step: number;
  max: number;
  /** Seconds each step runs after its ramp (the measured window). */
  stepSeconds: number;
  /** Stop criteria. */
  maxLoss: number;
  maxTtffP95Ms: number;
}

/** Everything a run is told; defaults below, every field documented once here. */
export interface LoadOptions {
  /** Server base URL (http or https). */
  url: string;
  viewers: number;
  /** Chat sockets (signed-in accounts; they are counted as viewers by the server, but consume no media). */
  chatters: number;
  /** Chat messages per second, all chatters together. */
  rate: number;
  /** Seconds of the N-viewer phase, from the first join to the hard stop. */
  durationS: number;
  /** Viewers starting per second during the ramp. */
  rampPerSecond: number;
  /** All viewers start at the same instant (overrides the ramp). */
  joinStorm: boolean;
  /** Seconds the streamer publishes before any viewer (encoder and bandwidth estimate settle). */
  warmupS: number;
  /** Seconds measured with one viewer (streamer upload at 1 viewer); 0 skips it. */
  baselineS: number;
  /** Seconds after the last join before the steady-state window starts. */
  settleS: number;
  /** Viewer processes per step; 0 picks one per ~100 viewers. */
  viewerProcs: number;
  chatProcs: number;
  /** Accounts the chat sockets share; 0 picks enough to stay under the per-user chat limit. */
  chatAccounts: number;
  /** Viewers that decrypt SRTP and validate VP8; -1 picks 5 % (1–10). */
  decrypt: number;
  /**
   * Share (0–1) of the viewers that, besides the decrypting ones (which send
   * receiver reports only), behave like browsers: werift's full receive path
   * with NACK, PLI and transport-cc negotiated, sending receiver reports,
   * NACKs and transport-cc feedback.
   */
  rtcpShare: number;
  /** Viewers that join one by one once the rest is steady (at most a tenth of them); their TTFF is the capacity criterion. */
  probes: number;
  /** Simulcast layer viewers pin; null leaves the server's choice. */
  layer: ViewerLayer | null;
  width: number;
  height: number;
  fps: number;
  /**
   * How the Chromium streamer publishes: 'mediasoup' (mediasoup-client over the
   * stream WebSocket, as the web studio) or 'whip' (RTCPeerConnection + fetch to
   * POST /api/whip with a stream key, as OBS; simulcast rids named and ordered as OBS's).
   */
  publisher: 'mediasoup' | 'whip';
  /** Codec of a WHIP publisher: OBS sends H.264; VP8 keeps the decrypting viewers' VP8 checks. */
  whipCodec: 'vp8' | 'h264';
  /** Top simulcast layer maxBitrate (kbps); the others get 1/3 and 1/9. */
  videoKbps: number;
  audio: boolean;
  chromiumPath: string;
  /** No Chromium streamer (chat-only runs; needs --viewers 0): its encoder's CPU stays out of the chat figures. */
  noStreamer: boolean;
  /** Use this stream and streamer token instead of creating an account and a stream. */
  streamId: number | null;
  streamerToken: string | null;
  /** Server process to read CPU and RSS from (/proc); found automatically when the server listens on this box. */
  serverPid: number | null;
  /**
   * Cluster mode: each node's own base URL, while `url` is the front. Server
   * CPU, memory and counts come from each node's /metrics, summed, and the
   * report lists each node's CPU.
   */
  nodes: string[];
  joinTimeoutS: number;
  /**
   * Counting viewers receive through a batch receiver (a C helper built with `cc`,
   * recvmmsg over all of a process's viewers) instead of Node's dgram, ~6 µs per packet.
   */
  leanRx: boolean;
  /** Scheduling niceness of the viewer and chatter processes: on a shared box they yield to the server. */
  generatorNice: number;
  outDir: string;
  label: string;
  capacity: CapacityOptions | null;
  /** No progress lines. */
  quiet: boolean;
}

export const RESULTS_DIR = resolve(fileURLToPath(new URL('../results', import.meta.url)));

export function defaultOptions(overrides: Partial<LoadOptions> = {}): LoadOptions {
  return {
    url: 'http://127.0.0.1:8080',
    viewers: 10,
    chatters: 0,
    rate: 5,
    durationS: 30,
    rampPerSecond: 10,
    joinStorm: false,
    warmupS: 8,
    baselineS: 8,
    settleS: 3,
    viewerProcs: 0,
    chatProcs: 0,
    chatAccounts: 0,
    decrypt: -1,
    rtcpShare: 0.1,
    probes: 10,
    layer: 'high',
    width: 1280,
    height: 720,
    fps: 30,
    videoKbps: 900,
    publisher: 'mediasoup',
    whipCodec: 'vp8',
    audio: true,
    chromiumPath: '/usr/bin/chromium',
    noStreamer: false,
    streamId: null,
    streamerToken: null,
    serverPid: null,
    nodes: [],
    joinTimeoutS: 20,
    leanRx: true,
    generatorNice: 10,
    outDir: RESULTS_DIR,
    label: '',
    capacity: null,
    quiet: false,
    ...overrides,
  };
}

/** Per-user chat limit on the server: 3 messages per 2 s; a load test stays at 0.5/s per account so timer jitter never trips it. */
export const CHAT_RATE_PER_ACCOUNT = 0.5;

/** Fills the automatic choices. */
export function resolveOptions(o: LoadOptions): LoadOptions {
  return {
    ...o,
    // More chatter processes than cores made latency worse, not better (they wake together after each broadcast).
    chatProcs: o.chatProcs > 0 ? o.chatProcs : Math.max(1, Math.min(cpus().length, Math.ceil(o.chatters / 1000))),
    chatAccounts: Math.min(o.chatters, o.chatAccounts > 0 ? o.chatAccounts : Math.max(10, Math.ceil(o.rate / CHAT_RATE_PER_ACCOUNT))),
  };
}

/** How many of `viewers` are probes: --probes, at most a tenth of them. */
export function probeCountFor(o: LoadOptions, viewers: number): number {
  return Math.max(0, Math.min(o.probes, Math.floor(viewers / 10)));
}

/** How many of `viewers` send RTCP like browsers besides the decrypting ones: --rtcp-share of them, within the crowd that is left. */
export function rtcpCountFor(o: LoadOptions, viewers: number): number {
  const crowd = viewers - probeCountFor(o, viewers) - decryptCountFor(o, viewers);
  return Math.max(0, Math.min(crowd, Math.round(viewers * o.rtcpShare)));
}

/** How many of `viewers` decrypt: the --decrypt count, or 5 % of them (at least 1, at most 10). */
export function decryptCountFor(o: LoadOptions, viewers: number): number {
  return o.decrypt >= 0 ? Math.min(o.decrypt, viewers) : Math.min(viewers, Math.max(1, Math.min(10, Math.round(viewers * 0.05))));
}

export const USAGE = `Usage: npm run load -- --url http://127.0.0.1:8080 [options]

Load-tests a running RED-RED Live server: one Chromium streamer (VP8 simulcast x3 + Opus),
N WebRTC viewers (werift, ICE + DTLS + SRTP), M chatters. Start the server with
REGISTRATIONS_PER_IP_PER_HOUR=1000000 (the run registers accounts).

  --url URL            server base URL                                  [http://127.0.0.1:8080]
  --viewers N          viewers                                          [10]
  --chatters M         chat sockets (signed in)                         [0]
  --rate R             chat messages/s, all chatters together           [5]
  --duration S         seconds of the N-viewer phase, hard stop         [30]
  --ramp V             viewers starting per second                      [10]
  --join-storm         all viewers start at once
  --warmup S           streamer publishes S s before viewers            [8]
  --baseline S         S s with 1 viewer (upload at 1 viewer); 0 = skip [8]
  --settle S           S s after the last join before measuring         [3]
  --decrypt K          viewers that decrypt and validate VP8 (-1: 5 %)  [-1]
  --rtcp-share PCT     PCT % of the viewers (besides the decrypting ones) send
                       RTCP like a browser: receiver reports, NACKs,
                       transport-cc feedback (werift's full receive path,
                       about as costly to the generator as decrypting)     [10]
  --probes K           of the viewers, K (≤ 10 %) join one by one once
                       the rest is steady: newcomer TTFF                [10]
  --layer L            high|medium|low|auto: simulcast layer to pin     [high]
  --resolution WxH     camera capture                                   [1280x720]
  --fps F                                                               [30]
  --video-kbps K       top layer max bitrate (others 1/3, 1/9)          [900]
  --no-audio
  --no-streamer        no Chromium streamer (chat-only runs, --viewers 0)
  --publisher P        mediasoup (web studio path) or whip (OBS path: POST /api/whip
                       with a stream key, rids 0/1/2 highest first)      [mediasoup]
  --whip-codec C       vp8 or h264 (OBS's); h264 viewers count, not check frames [vp8]
  --viewer-procs P     viewer processes (0: one per ~100 viewers)       [0]
  --no-lean-rx         counting viewers receive through Node's dgram, not the
                       batch receiver (load-tests/native/lean-rx.c, needs cc)
  --chat-procs Q       chatter processes                                [0]
  --chat-accounts K    accounts the chat sockets share (0: auto)        [0]
  --stream-id ID --streamer-token T   use an existing stream
  --server-pid PID     read server CPU/RSS from /proc (auto when local)
  --nodes URL,URL,...  cluster: --url is the front; read each node's /metrics
                       (CPU per node in the report, totals summed)
  --join-timeout S                                                      [20]
  --generator-nice N   niceness of viewer/chatter processes (0: none)   [10]
  --capacity           capacity search: raise viewers until loss > --max-loss
                       or the probes' p95 TTFF > --max-ttff; prints the last good count
  --start N --step N --max N --step-duration S    capacity steps        [50 50 500 15]
  --max-loss PCT                                                        [1]
  --max-ttff MS                                                         [2000]
  --chromium PATH                                                       [/usr/bin/chromium]
  --out DIR            results folder                                   [load-tests/results]
  --label NAME         added to the result file names
  --quiet              no progress lines
  --help
`;

/** `--nodes`: comma-separated http(s) base URLs, each a node of the cluster behind `--url`. */
function parseNodes(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  const urls = raw.split(',').map((u) => u.trim()).filter(Boolean);
  for (const u of urls) {
    let protocol = '';
    try {
      protocol = new URL(u).protocol;
    } catch {
      // reported below
    }
    if (protocol !== 'http:' && protocol !== 'https:') throw new Error(`--nodes: "${u}" is not an http(s) URL`);
  }
  return urls;
}

export function parseCli(argv: string[]): LoadOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      url: { type: 'string' },
      viewers: { type: 'string' },
      chatters: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      ramp: { type: 'string' },
      'join-storm': { type: 'boolean' },
      warmup: { type: 'string' },
      baseline: { type: 'string' },
      settle: { type: 'string' },
      decrypt: { type: 'string' },
      'rtcp-share': { type: 'string' },
      probes: { type: 'string' },
      layer: { type: 'string' },
      resolution: { type: 'string' },
      fps: { type: 'string' },
      'video-kbps': { type: 'string' },
      'no-audio': { type: 'boolean' },
      'no-streamer': { type: 'boolean' },
      publisher: { type: 'string' },
      'whip-codec': { type: 'string' },
      'viewer-procs': { type: 'string' },
      'no-lean-rx': { type: 'boolean' },
      'chat-procs': { type: 'string' },
      'chat-accounts': { type: 'string' },
      'stream-id': { type: 'string' },
      'streamer-token': { type: 'string' },
      'server-pid': { type: 'string' },
      nodes: { type: 'string' },
      'join-timeout': { type: 'string' },
      'generator-nice': { type: 'string' },
      capacity: { type: 'boolean' },
      start: { type: 'string' },
      step: { type: 'string' },
      max: { type: 'string' },
      'step-duration': { type: 'string' },
      'max-loss': { type: 'string' },
      'max-ttff': { type: 'string' },
      chromium: { type: 'string' },
      out: { type: 'string' },
      label: { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const num = (name: string, raw: string | undefined, fallback: number, min = 0): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}, got "${raw}"`);
    return n;
  };
  const d = defaultOptions();
  let width = d.width;
  let height = d.height;
  if (values.resolution) {
    const m = /^(\d+)x(\d+)$/.exec(values.resolution);
    if (!m) throw new Error(`--resolution must be WxH, got "${values.resolution}"`);
    width = Number(m[1]);
    height = Number(m[2]);
  }
  const layer = values.layer ?? 'high';
  if (!['high', 'medium', 'low', 'auto'].includes(layer)) throw new Error(`--layer must be high, medium, low or auto`);
  if (values['stream-id'] !== undefined && values['streamer-token'] === undefined) throw new Error('--stream-id needs --streamer-token');
  const publisher = values.publisher ?? d.publisher;
  if (publisher !== 'mediasoup' && publisher !== 'whip') throw new Error('--publisher must be mediasoup or whip');
  const whipCodec = values['whip-codec'] ?? d.whipCodec;
  if (whipCodec !== 'vp8' && whipCodec !== 'h264') throw new Error('--whip-codec must be vp8 or h264');
  if (values['whip-codec'] !== undefined && publisher !== 'whip') throw new Error('--whip-codec needs --publisher whip');
  if (values['no-streamer'] && values.viewers !== undefined && Number(values.viewers) > 0) throw new Error('--no-streamer needs --viewers 0');
  return defaultOptions({
    url: values.url ?? d.url,
    viewers: values['no-streamer'] ? 0 : Math.floor(num('viewers', values.viewers, d.viewers)),
    chatters: Math.floor(num('chatters', values.chatters, d.chatters)),
    rate: num('rate', values.rate, d.rate),
    durationS: num('duration', values.duration, d.durationS, 1),
    rampPerSecond: num('ramp', values.ramp, d.rampPerSecond, 0.01),
    joinStorm: values['join-storm'] ?? false,
    warmupS: num('warmup', values.warmup, d.warmupS),
    baselineS: num('baseline', values.baseline, d.baselineS),
    settleS: num('settle', values.settle, d.settleS),
    decrypt: Math.floor(num('decrypt', values.decrypt, d.decrypt, -1)),
    rtcpShare: Math.min(100, num('rtcp-share', values['rtcp-share'], d.rtcpShare * 100)) / 100,
    probes: Math.floor(num('probes', values.probes, d.probes)),
    layer: layer === 'auto' ? null : (layer as ViewerLayer),
    width,
    height,
    fps: num('fps', values.fps, d.fps, 1),
    videoKbps: num('video-kbps', values['video-kbps'], d.videoKbps, 30),
    audio: !values['no-audio'],
    publisher,
    whipCodec,
    noStreamer: values['no-streamer'] ?? false,
    viewerProcs: Math.floor(num('viewer-procs', values['viewer-procs'], 0)),
    leanRx: !values['no-lean-rx'],
    chatProcs: Math.floor(num('chat-procs', values['chat-procs'], 0)),
    chatAccounts: Math.floor(num('chat-accounts', values['chat-accounts'], 0)),
    streamId: values['stream-id'] === undefined ? null : Math.floor(num('stream-id', values['stream-id'], 0, 1)),
    streamerToken: values['streamer-token'] ?? null,
    serverPid: values['server-pid'] === undefined ? null : Math.floor(num('server-pid', values['server-pid'], 0, 1)),
    nodes: parseNodes(values.nodes),
    joinTimeoutS: num('join-timeout', values['join-timeout'], d.joinTimeoutS, 1),
    generatorNice: Math.min(19, Math.floor(num('generator-nice', values['generator-nice'], d.generatorNice))),
    chromiumPath: values.chromium ?? d.chromiumPath,
    outDir: values.out ? resolve(values.out) : d.outDir,
    label: values.label ?? '',
    quiet: values.quiet ?? false,
    capacity: values.capacity
      ? {
          start: Math.floor(num('start', values.start, 50, 1)),
          step: Math.floor(num('step', values.step, 50, 1)),
          max: Math.floor(num('max', values.max, 500, 1)),
          stepSeconds: num('step-duration', values['step-duration'], 15, 1),
          maxLoss: num('max-loss', values['max-loss'], 1) / 100,
          maxTtffP95Ms: num('max-ttff', values['max-ttff'], 2000, 1),
        }
      : null,
  });
}
