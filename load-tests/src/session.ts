import { isIP } from 'node:net';
import { createStream, registerAccount, registerAccounts, wsUrlOf } from './accounts.ts';
import { ChatFleet, type ChatFleetTotals, type ViewerFleet, type ViewerTotals } from './fleets.ts';
import type { LoadOptions } from './options.ts';
import { allProcesses, boxCpu, descendants, pidListeningOn, scrapeMetrics, type ServerMetrics } from './probes.ts';
import { nowMs } from './stats.ts';
import { SignalingClient } from './signaling.ts';
import { Streamer, type UploadSample } from './streamer.ts';
import { progressLine, timelineRow, type TimelineRow } from './timeline.ts';

/** One reading of everything the harness watches. */
export interface Snapshot {
  at: number;
  upload: UploadSample | null;
  metrics: ServerMetrics | null;
  /** Cumulative CPU seconds; null when not measurable. */
  serverNodeCpu: number | null;
  serverWorkersCpu: number | null;
  serverRssBytes: number | null;
  /** Where the server figures came from. */
  serverSource: 'proc' | 'metrics' | 'none';
  generatorCpu: number;
  chromiumCpu: number | null;
  box: { busy: number; total: number; cores: number } | null;
  viewers: ViewerTotals | null;
  chat: ChatFleetTotals | null;
  /** The stream's viewer count as last announced to the streamer (a cluster's count across nodes). */
  announcedViewers: number | null;
  /** Cluster mode (`--nodes`): each node's own /metrics, in the order given (null: it did not answer). */
  nodes: { url: string; metrics: ServerMetrics | null }[] | null;
}

export interface Hooks {
  log(line: string): void;
  progress(line: string): void;
}

const LOOPBACK = /^(127\.|localhost$|\[?::1\]?$)/;

/** Sessions not yet closed: an interrupted CLI closes them (ends the stream, stops Chromium). */
export const openSessions = new Set<LoadSession>();

/**
 * What lives for a whole run: the stream, the streamer, the chatters, the
 * server's identity on this box, and a 1 s sampler that writes the timeline and
 * the progress lines. Steps plug their viewer fleet in.
 */
export class LoadSession {
  readonly opts: LoadOptions;
  readonly hooks: Hooks;
  readonly wsUrl: string;
  readonly streamId: number;
  /** Null with --no-streamer (chat-only runs): then `streamerSocket` holds the streamer's seat. */
  readonly streamer: Streamer | null;
  readonly streamerSocket: SignalingClient | null;
  readonly createdStream: boolean;
  readonly serverPid: number | null;
  /** The server runs in this very process (the smoke test): its CPU includes the harness. */
  readonly serverInProcess: boolean;
  readonly localAddress: string | null;
  readonly startedAt: number;
  readonly timeline: TimelineRow[] = [];
  readonly notes: string[] = [];
  chat: ChatFleet | null = null;
  chatAccounts = 0;
  fleet: ViewerFleet | null = null;
  phase = 'warmup';
  #prev: Snapshot | null = null;
  #timer: NodeJS.Timeout | null = null;
  #ticking = false;
  #lastProgressAt = 0;
  #closed = false;
  /** CPU of generator processes that already exited. */
  #retiredCpuMs = 0;
  /** The latest `viewers_update` of the streamer's seat without a streamer (--no-streamer). */
  #seatViewers: { value: number | null } = { value: null };

  private constructor(o: {
    opts: LoadOptions;
    hooks: Hooks;
    wsUrl: string;
    streamId: number;
    streamer: Streamer | null;
    streamerSocket: SignalingClient | null;
    createdStream: boolean;
    serverPid: number | null;
    localAddress: string | null;
  }) {
    this.opts = o.opts;
    this.hooks = o.hooks;
    this.wsUrl = o.wsUrl;
    this.streamId = o.streamId;
    this.streamer = o.streamer;
    this.streamerSocket = o.streamerSocket;
    this.createdStream = o.createdStream;
    this.serverPid = o.serverPid;
    this.serverInProcess = o.serverPid === process.pid;
    this.localAddress = o.localAddress;
    this.startedAt = nowMs();
  }

  static async open(opts: LoadOptions, hooks: Hooks, tag: string): Promise<LoadSession> {
    const base = new URL(opts.url);
    const host = base.hostname.replace(/^\[|\]$/g, '');
    const local = LOOPBACK.test(host);
    const localAddress = local ? (isIP(host) === 4 ? host : '127.0.0.1') : null;
    // Behind a front (--nodes), whatever listens on --url is the balancer, not a node.
    const serverPid = opts.serverPid ?? (local && opts.nodes.length === 0 ? pidListeningOn(Number(base.port || (base.protocol === 'https:' ? 443 : 80))) : null);

    let token = opts.streamerToken;
    let streamId = opts.streamId;
    let createdStream = false;
    if (!token || streamId === null) {
      hooks.log(`creating a streamer account and a stream on ${opts.url}`);
      token = (await registerAccount(opts.url, `lt${tag}s`)).token;
      streamId = await createStream(opts.url, token, `load test ${tag}`);
      createdStream = true;
    }
    const wsUrl = wsUrlOf(opts.url, streamId);
    let streamer: Streamer | null = null;
    let streamerSocket: SignalingClient | null = null;
    const seatViewers: { value: number | null } = { value: null };
    if (opts.noStreamer) {
      hooks.log(`stream ${streamId}; no streamer (--no-streamer): the stream stays waiting, chat only`);
      streamerSocket = await SignalingClient.connect(wsUrl, { token });
      const seat = streamerSocket;
      seat.onRaw = (text) => {
        if (!text.startsWith('{"type":"viewers_update"')) return text.startsWith('{"type":"comment');
        seatViewers.value = (JSON.parse(text) as { viewers: number }).viewers;
        return true;
      };
    } else {
      hooks.log(`stream ${streamId}; starting the Chromium streamer (${opts.publisher === 'whip' ? `WHIP, ${opts.whipCodec}` : 'mediasoup-client'}, ${opts.width}x${opts.height}@${opts.fps}, top layer ${opts.videoKbps} kbps)`);
      streamer = await Streamer.start({
        wsUrl,
        token,
        width: opts.width,
        height: opts.height,
        fps: opts.fps,
        videoKbps: opts.videoKbps,
        audio: opts.audio,
        publisher: opts.publisher === 'whip' ? { kind: 'whip', httpUrl: opts.url, codec: opts.whipCodec } : { kind: 'mediasoup' },
        chromiumPath: opts.chromiumPath,
        log: hooks.log,
      });
    }
    const session = new LoadSession({ opts, hooks, wsUrl, streamId, streamer, streamerSocket, createdStream, serverPid, localAddress });
    session.#seatViewers = seatViewers;
    openSessions.add(session);
    const where = serverPid === null ? 'pid unknown: CPU/RSS from /metrics' : session.serverInProcess ? 'runs in this process' : `pid ${serverPid}`;
    hooks.log(
      streamer
        ? `streamer publishing (${streamer.info.handler}, capture ${streamer.info.captured.width}x${streamer.info.captured.height}@${streamer.info.captured.frameRate}); server ${where}`
        : `server ${where}`,
    );
    session.#timer = setInterval(() => void session.#tick(), 1000);
    try {
      if (opts.chatters > 0) await session.#startChat(tag);
    } catch (err) {
      await session.close();
      throw err;
    }
    return session;
  }

  async #startChat(tag: string): Promise<void> {
    const o = this.opts;
    const accounts = Math.max(1, Math.min(o.chatters, o.chatAccounts));
    this.hooks.log(`registering ${accounts} chat accounts for ${o.chatters} chat sockets`);
    const t = nowMs();
    const tokens = await registerAccounts(o.url, `lt${tag}c`, accounts, 4);
    this.hooks.log(`accounts ready in ${((nowMs() - t) / 1000).toFixed(1)} s; connecting chatters`);
    this.chatAccounts = accounts;
    this.chat = await ChatFleet.start({ wsUrl: this.wsUrl, tokens: Array.from({ length: o.chatters }, (_, i) => tokens[i % accounts]!), procs: o.chatProcs, tag, nice: o.generatorNice }, this.hooks.log);
    this.hooks.log(`chatters connected: ${this.chat.connected}/${o.chatters}${this.chat.failed ? ` (${this.chat.failed} failed)` : ''}`);
  }

  /**
   * The stream's viewer count as the server announces it to the streamer: in
   * cluster mode the cluster's count (people across nodes), which no single
   * node's /metrics has.
   */
  get announcedViewers(): number | null {
    return this.streamer?.serverViewers ?? this.#seatViewers.value;
  }

  /** Reads everything now. */
  async snapshot(): Promise<Snapshot> {
    const [upload, scraped] = await Promise.all([
      this.streamer?.sample().catch(() => null) ?? null,
      this.opts.nodes.length > 0 ? Promise.all(this.opts.nodes.map(async (url) => ({ url, metrics: await scrapeMetrics(url) }))) : scrapeMetrics(this.opts.url),
    ]);
    const nodes = Array.isArray(scraped) ? scraped : null;
    const metrics = Array.isArray(scraped) ? sumMetrics(scraped.map((n) => n.metrics)) : scraped;
    const procs = allProcesses();
    const own = process.cpuUsage();
    let generatorCpu = (own.user + own.system) / 1e6 + this.#retiredCpuMs / 1000;
    const fleetTotals = this.fleet?.totals() ?? null;
    const chatTotals = this.chat?.totals() ?? null;
    generatorCpu += (fleetTotals?.cpuMs ?? 0) / 1000 + (chatTotals?.cpuMs ?? 0) / 1000;

    let serverNodeCpu: number | null = null;
    let serverWorkersCpu: number | null = null;
    let serverRssBytes: number | null = null;
    let serverSource: Snapshot['serverSource'] = 'none';
    const serverTree = this.serverPid !== null && !this.serverInProcess && procs.length > 0 ? descendants(procs, this.serverPid) : [];
    if (serverTree.length > 0) {
      serverSource = 'proc';
      // mediasoup workers apart; anything else the server spawned (tsx's esbuild service) counts with node.
      const workers = serverTree.filter((p) => /mediasoup/.test(p.comm));
      serverWorkersCpu = workers.reduce((a, p) => a + p.cpuSeconds, 0);
      serverNodeCpu = serverTree.filter((p) => !workers.includes(p)).reduce((a, p) => a + p.cpuSeconds, 0);
      serverRssBytes = serverTree.reduce((a, p) => a + p.rssBytes, 0);
    } else if (metrics) {
      serverSource = 'metrics';
      serverNodeCpu = metrics.processCpuSeconds;
      serverWorkersCpu = metrics.workerCpuSeconds;
      serverRssBytes = metrics.processRssBytes !== null ? metrics.processRssBytes + (metrics.workerRssBytes ?? 0) : null;
    }
    let chromiumCpu: number | null = null;
    if (procs.length > 0) {
      const serverPids = new Set([...serverTree.map((p) => p.pid), ...(metrics?.workerPids ?? [])]);
      chromiumCpu = descendants(procs, process.pid)
        .filter((p) => /chrom/i.test(p.comm) && !serverPids.has(p.pid))
        .reduce((a, p) => a + p.cpuSeconds, 0);
    }
    return {
      at: nowMs(),
      upload,
      metrics,
      serverNodeCpu,
      serverWorkersCpu,
      serverRssBytes,
      serverSource,
      generatorCpu,
      chromiumCpu,
      box: boxCpu(),
      viewers: fleetTotals,
      chat: chatTotals,
      announcedViewers: this.announcedViewers,
      nodes,
    };
  }

  async #tick(): Promise<void> {
    if (this.#ticking || this.#closed) return;
    this.#ticking = true;
    try {
      const snap = await this.snapshot();
      const prev = this.#prev;
      this.#prev = snap;
      if (!prev) return;
      const row = timelineRow(prev, snap, this.startedAt, this.phase);
      this.timeline.push(row);
      if (!this.opts.quiet && snap.at - this.#lastProgressAt >= 2000) {
        this.#lastProgressAt = snap.at;
        this.hooks.progress(progressLine(row, snap, this.chat !== null));
      }
    } catch (err) {
      this.hooks.log(`sampler: ${String(err)}`);
    } finally {
      this.#ticking = false;
    }
  }

  /** A fleet stopped: its processes' CPU stays in the generator's total. */
  retireGeneratorCpu(cpuMs: number): void {
    this.#retiredCpuMs += cpuMs;
  }

  note(line: string): void {
    this.notes.push(line);
    this.hooks.log(`note: ${line}`);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    openSessions.delete(this);
    if (this.#timer) clearInterval(this.#timer);
    this.fleet?.kill();
    this.chat?.kill();
    if (this.createdStream) {
      if (this.streamer) await this.streamer.endStream();
      else await this.streamerSocket?.request({ type: 'end_stream' }, 5000).catch(() => {});
    }
    this.streamerSocket?.close();
    await this.streamer?.close();
  }
}

/**
 * The cluster's figures as one server's: counts and CPU summed over the nodes
 * that answered (null if none did); the comment counter is the database's, the
 * same on every node.
 */
export function sumMetrics(list: (ServerMetrics | null)[]): ServerMetrics | null {
  const ok = list.filter((m): m is ServerMetrics => m !== null);
  if (ok.length === 0) return null;
  const sum = (pick: (m: ServerMetrics) => number | null) => {
    const values = ok.map(pick).filter((v): v is number => v !== null);
    return values.length ? values.reduce((a, v) => a + v, 0) : null;
  };
  const max = (pick: (m: ServerMetrics) => number | null) => {
    const values = ok.map(pick).filter((v): v is number => v !== null);
    return values.length ? Math.max(...values) : null;
  };
  const consumersByWorker: Record<string, number> = {};
  ok.forEach((m, i) => {
    for (const [w, c] of Object.entries(m.consumersByWorker)) consumersByWorker[`${m.nodeId ?? i}/${w}`] = c;
  });
  return {
    at: Math.max(...ok.map((m) => m.at)),
    viewers: sum((m) => m.viewers),
    websocketConnections: sum((m) => m.websocketConnections),
    producers: sum((m) => m.producers),
    consumersByWorker,
    workerCpuSeconds: sum((m) => m.workerCpuSeconds),
    workerRssBytes: sum((m) => m.workerRssBytes),
    processCpuSeconds: sum((m) => m.processCpuSeconds),
    processRssBytes: sum((m) => m.processRssBytes),
    commentsTotal: max((m) => m.commentsTotal),
    commentsPerSecond: max((m) => m.commentsPerSecond),
    eventLoopLagP99Seconds: max((m) => m.eventLoopLagP99Seconds),
    workerPids: ok.flatMap((m) => m.workerPids),
    nodeId: null,
  };
}
