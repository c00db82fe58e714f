import { readFileSync } from 'node:fs';
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { recordingTotals, type RecordingStatus } from '@redred/db';
import { freeBytes } from '../recording/store.ts';

/** How often the sampler reads worker CPU and the comment counter; rates average over RATE_WINDOW samples. */
const SAMPLE_INTERVAL_MS = 1000;
const RATE_WINDOW = 5;

interface WorkerSample {
  at: number;
  cpuMs: number;
}

/** Current RSS of a process from /proc (Linux); null elsewhere or when it is gone. */
function currentRssBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * `GET /metrics` in the Prometheus text format, for operators and the load
 * tests: audience, media fan-out per mediasoup worker, worker CPU and memory,
 * WebSocket connections, chat throughput and the Node process itself
 * (default metrics: CPU, RSS, event-loop lag, GC). Read-only; the registry is
 * per app so several apps in one process (tests) never share series.
 */
export interface MetricsOptions {
  /** METRICS_TOKEN: scrapers send `Authorization: Bearer <token>`. */
  token: string | undefined;
  /** METRICS_HOST:METRICS_PORT: a listener of its own, and none on the public port. */
  listen: { host: string; port: number } | undefined;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Who may read the metrics: with a token, whoever sends it (compared in constant
 * time); on a separate listener without a token, whoever reaches that address
 * (the operator chose it); otherwise nobody, so a fresh install never shows its
 * figures to the world.
 */
function metricsAccess(opts: MetricsOptions): (request: FastifyRequest, reply: FastifyReply) => { code: 401; message: string } | null {
  const expected = opts.token === undefined ? undefined : digest(opts.token);
  return (request, reply) => {
    if (expected === undefined) return opts.listen ? null : { code: 401, message: 'metrics are off: set METRICS_TOKEN, or METRICS_PORT for a private listener (docs/operations.md)' };
    const header = request.headers.authorization ?? '';
    const given = /^Bearer (.+)$/.exec(header)?.[1];
    if (given !== undefined && timingSafeEqual(digest(given), expected)) return null;
    reply.header('www-authenticate', 'Bearer realm="metrics"');
    return { code: 401, message: 'send the METRICS_TOKEN as Authorization: Bearer' };
  };
}

async function metrics(app: FastifyInstance, opts: MetricsOptions): Promise<void> {
  const register = new Registry();
  collectDefaultMetrics({ register, eventLoopMonitoringPrecision: 10 });

  const rooms = () => app.rooms.all().filter((r) => !r.closed);
  const pool = app.sfu.pool;

  // One sampler owns the rate windows; scrapes only read them, so any number
  // of scrapers see the same figures.
  const workerSamples = new Map<number, WorkerSample[]>();
  const commentSamples: { at: number; maxId: number }[] = [];
  let commentsAtStart: number | null = null;
  let latestUsage: Awaited<ReturnType<typeof pool.getResourceUsage>> = [];

  const maxCommentId = async (): Promise<number> => {
    const row = await app.db
      .selectFrom('live_stream_comments')
      .select((eb) => eb.fn.max('id').as('maxId'))
      .executeTakeFirst();
    return Number(row?.maxId ?? 0);
  };

  const sample = async (): Promise<void> => {
    const at = Date.now();
    try {
      latestUsage = await pool.getResourceUsage();
      for (const w of latestUsage) {
        const list = workerSamples.get(w.pid) ?? [];
        list.push({ at, cpuMs: w.cpuMs });
        if (list.length > RATE_WINDOW + 1) list.shift();
        workerSamples.set(w.pid, list);
      }
      for (const pid of workerSamples.keys()) if (!latestUsage.some((w) => w.pid === pid)) workerSamples.delete(pid);
    } catch {
      // The pool is closing.
    }
    try {
      const maxId = await maxCommentId();
      commentsAtStart ??= maxId;
      commentSamples.push({ at, maxId });
      if (commentSamples.length > RATE_WINDOW * 2 + 1) commentSamples.shift();
    } catch {
      // Storage unavailable: the gauges keep their last values.
    }
  };
  await sample();
  let sampling: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    sampling = sample();
  }, SAMPLE_INTERVAL_MS);
  timer.unref();
  app.addHook('onClose', async () => {
    clearInterval(timer);
    await sampling;
  });

  new Gauge({
    name: 'redred_viewers',
    help: 'People watching, summed over live rooms (accounts counted once, each anonymous visitor once by its first-party cookie; the streamer is not a viewer).',
    registers: [register],
    collect() {
      this.set(rooms().reduce((n, r) => n + r.viewers.count, 0));
    },
  });
  if (app.cluster) {
    const nodeId = app.cluster.id;
    new Gauge({
      name: 'redred_node_info',
      help: 'Cluster mode: this node, by its NODE_ID (always 1).',
      labelNames: ['node'],
      registers: [register],
      collect() {
        this.set({ node: nodeId }, 1);
      },
    });
  }
  new Gauge({
    name: 'redred_rooms',
    help: 'Streams with an open room (and router) in this process.',
    registers: [register],
    collect() {
      this.set(rooms().length);
    },
  });
  new Gauge({
    name: 'redred_websocket_connections',
    help: 'Open stream WebSockets (viewers, streamers, chatters).',
    registers: [register],
    collect() {
      this.set(rooms().reduce((n, r) => n + r.connectionCount, 0));
    },
  });
  new Gauge({
    name: 'redred_producers',
    help: 'Media producers (streamers\' tracks) across rooms; in cluster mode only those uploaded to this node (its origin rooms).',
    registers: [register],
    collect() {
      this.set(rooms().reduce((n, r) => n + (r.cluster && !r.cluster.isOrigin ? 0 : r.media.getProducers().length), 0));
    },
  });
  new Gauge({
    name: 'redred_worker_consumers',
    help: 'Consumers on each mediasoup worker, pipe consumers included (each forwards packets).',
    labelNames: ['worker', 'pid'],
    registers: [register],
    collect() {
      this.reset();
      for (const w of latestUsage) this.set({ worker: String(w.slot), pid: String(w.pid) }, w.consumers);
    },
  });
  new Gauge({
    name: 'redred_worker_routers',
    help: 'Routers on each mediasoup worker (stream origins and fan-out routers).',
    labelNames: ['worker', 'pid'],
    registers: [register],
    collect() {
      this.reset();
      for (const w of latestUsage) this.set({ worker: String(w.slot), pid: String(w.pid) }, w.routers);
    },
  });
  new Counter({
    name: 'redred_worker_cpu_seconds_total',
    help: 'User + system CPU time of each mediasoup worker process since it started.',
    labelNames: ['worker', 'pid'],
    registers: [register],
    collect() {
      this.reset();
      for (const w of latestUsage) this.inc({ worker: String(w.slot), pid: String(w.pid) }, w.cpuMs / 1000);
    },
  });
  new Gauge({
    name: 'redred_worker_cpu_ratio',
    help: `CPU of each mediasoup worker over the last ~${RATE_WINDOW} s, in cores (1 = one core busy).`,
    labelNames: ['worker', 'pid'],
    registers: [register],
    collect() {
      this.reset();
      for (const w of latestUsage) {
        const list = workerSamples.get(w.pid);
        if (!list || list.length < 2) continue;
        const first = list[0]!;
        const last = list[list.length - 1]!;
        if (last.at > first.at) this.set({ worker: String(w.slot), pid: String(w.pid) }, (last.cpuMs - first.cpuMs) / (last.at - first.at));
      }
    },
  });
  new Gauge({
    name: 'redred_worker_resident_memory_bytes',
    help: 'Current resident memory of each mediasoup worker process (Linux /proc; peak RSS elsewhere).',
    labelNames: ['worker', 'pid'],
    registers: [register],
    collect() {
      this.reset();
      for (const w of latestUsage) this.set({ worker: String(w.slot), pid: String(w.pid) }, currentRssBytes(w.pid) ?? w.maxRssKb * 1024);
    },
  });
  new Counter({
    name: 'redred_comments_total',
    help: 'Comments stored since this process started (all streams).',
    registers: [register],
    collect() {
      const last = commentSamples[commentSamples.length - 1];
      this.reset();
      if (last && commentsAtStart !== null) this.inc(Math.max(0, last.maxId - commentsAtStart));
    },
  });
  new Gauge({
    name: 'redred_comments_per_second',
    help: `Comments stored per second over the last ~${RATE_WINDOW * 2} s (all streams).`,
    registers: [register],
    collect() {
      const first = commentSamples[0];
      const last = commentSamples[commentSamples.length - 1];
      this.set(first && last && last.at > first.at ? ((last.maxId - first.maxId) * 1000) / (last.at - first.at) : 0);
    },
  });

  recordingMetrics(app, register);

  const refused = metricsAccess(opts);
  const serve = async (request: FastifyRequest, reply: FastifyReply) => {
    const refusal = refused(request, reply);
    if (refusal) return reply.code(refusal.code).send({ error: { code: 'unauthorized', message: refusal.message } });
    reply.header('content-type', register.contentType);
    return register.metrics();
  };
  if (!opts.listen) {
    app.get('/metrics', serve);
    return;
  }
  // A listener of its own (e.g. 127.0.0.1:9100 or a private interface), owned by this plugin.
  const listen = opts.listen;
  const metricsServer = Fastify({ logger: false });
  metricsServer.get('/metrics', serve);
  // onReady is awaited before the app serves (onListen is not): the listener is up when `listen()` resolves.
  app.addHook('onReady', async () => {
    await metricsServer.listen(listen);
    app.log.info({ host: listen.host, port: metricsServer.server.address() }, 'metrics listener up');
  });
  app.addHook('onClose', async () => {
    await metricsServer.close();
  });
  app.decorate('metricsAddress', () => metricsServer.server.address());
}

/** Not encapsulated: the separate listener's hooks and `metricsAddress` belong to the app. */
export const metricsRoutes = fp(metrics, { name: 'redred-metrics' });

declare module 'fastify' {
  interface FastifyInstance {
    /** The separate metrics listener's address, when METRICS_PORT is set (tests use port 0). */
    metricsAddress?: () => ReturnType<import('node:net').Server['address']>;
  }
}

const RECORDING_STATUSES: readonly RecordingStatus[] = ['recording', 'ready', 'partial', 'failed'];

/** Recording (docs/recording.md): recorders running, recordings and their bytes by status, disk left, run counters. */
function recordingMetrics(app: FastifyInstance, register: Registry): void {
  const service = app.recordings;
  new Gauge({
    name: 'redred_recorders_active',
    help: 'Recorder processes (ffmpeg) writing now in this process.',
    registers: [register],
    async collect() {
      this.set((await service.activity()).active);
    },
  });
  new Gauge({
    name: 'redred_recorder_rtp_bytes',
    help: 'RTP bytes sent to the running recorders by their taps (resets when a run restarts).',
    registers: [register],
    async collect() {
      this.set((await service.activity()).bytesIn);
    },
  });
  new Gauge({
    name: 'redred_recordings',
    help: 'Recordings in the database by status (recording, ready, partial, failed).',
    labelNames: ['status'],
    registers: [register],
    async collect() {
      const totals = await recordingTotals(app.db).catch(() => undefined);
      if (!totals) return;
      for (const status of RECORDING_STATUSES) this.set({ status }, totals.find((t) => t.status === status)?.count ?? 0);
    },
  });
  new Gauge({
    name: 'redred_recordings_bytes',
    help: 'Bytes of finished recording files by status (what RECORDING_MAX_GB counts).',
    labelNames: ['status'],
    registers: [register],
    async collect() {
      const totals = await recordingTotals(app.db).catch(() => undefined);
      if (!totals) return;
      for (const status of RECORDING_STATUSES) this.set({ status }, totals.find((t) => t.status === status)?.bytes ?? 0);
    },
  });
  new Gauge({
    name: 'redred_recordings_disk_free_bytes',
    help: 'Free space where recordings are written; below RECORDING_MIN_FREE_MB recorders stop (disk_low).',
    registers: [register],
    async collect() {
      const free = await freeBytes(service.ctx.recordingsDir).catch(() => undefined);
      if (free !== undefined) this.set(free);
    },
  });
  const counters: [keyof typeof service.ctx.metrics, string, string][] = [
    ['runsStarted', 'redred_recorder_runs_started_total', 'Recorder runs started (one per stream start, recorder death, media return).'],
    ['recorderDeaths', 'redred_recorder_deaths_total', 'Recorder processes that exited without being asked to.'],
    ['finalized', 'redred_recordings_finalized_total', 'Recordings finalised (segments joined into one file).'],
    ['pruned', 'redred_recordings_pruned_total', 'Recordings deleted by retention or the quota.'],
  ];
  for (const [key, name, help] of counters) {
    new Counter({
      name,
      help,
      registers: [register],
      collect() {
        this.reset();
        this.inc(service.ctx.metrics[key]);
      },
    });
  }
}
