import { createWorker, type types as ms } from 'mediasoup';
import { resolveSfuConfig, workerListenPort, workerPortRange, type SfuConfig } from './config.ts';
import { callMediasoup, SfuError } from './errors.ts';
import { consoleLogger, moduleLogger, type SfuLogger } from './logger.ts';
import { TypedEmitter } from './TypedEmitter.ts';

export type WorkerPoolEvents = {
  /** A worker process exited unexpectedly; its routers are already closed. */
  workerdied: [{ slot: number; pid: number; error: Error }];
  /** A fresh worker took the dead one's slot (its WebRtcServer port and pipe port range). */
  workerreplaced: [{ slot: number; oldPid: number; worker: ms.Worker }];
  close: [];
};

export interface WorkerLoad {
  routers: number;
  /** Every consumer on the worker, pipe consumers included: each one forwards packets. */
  consumers: number;
}

export interface WorkerUsage extends WorkerLoad {
  slot: number;
  pid: number;
  /** User + system CPU time of the worker process since it started (ms). */
  cpuMs: number;
  /** Peak resident set size (KiB, as getrusage reports it on Linux). */
  maxRssKb: number;
}

/** Where a worker's WebRtcServer listens (the ports ICE candidates carry). */
export interface WorkerMediaPorts {
  slot: number;
  pid: number;
  udp: number;
  tcp: number;
}

export interface WorkerPoolOptions {
  logger?: SfuLogger;
}

/** Replacement attempts back off from 500 ms up to this. */
const MAX_RESPAWN_DELAY_MS = 10_000;

interface Slot {
  readonly index: number;
  worker: ms.Worker | undefined;
  /** The worker's WebRtcServer: every WebRtcTransport of the worker is served on its ports. */
  server: { webRtcServer: ms.WebRtcServer; udp: number; tcp: number } | undefined;
  /** Settles when the slot has a live worker again (only while replacing). */
  replacing: Promise<ms.Worker> | undefined;
}

/**
 * Owns the mediasoup worker processes: one per slot, each with its WebRtcServer
 * (one UDP and one TCP port for all its WebRtcTransports) and its own slice of
 * the pipe port range. Tracks routers and consumers per worker (through
 * mediasoup's observers, so owners need no bookkeeping) to pick the least
 * loaded one, and replaces a worker that dies.
 */
export class WorkerPool extends TypedEmitter<WorkerPoolEvents> {
  readonly config: SfuConfig;
  readonly logger: SfuLogger;
  readonly #log: SfuLogger;
  readonly #slots: Slot[];
  readonly #load = new Map<ms.Worker, WorkerLoad>();
  /** Backoff waits between replacement attempts; close() ends them early. */
  readonly #respawnWaits = new Map<NodeJS.Timeout, () => void>();
  #closed = false;

  static async create(config: Partial<SfuConfig> = {}, options: WorkerPoolOptions = {}): Promise<WorkerPool> {
    const pool = new WorkerPool(resolveSfuConfig(config), options.logger ?? consoleLogger);
    const started = await Promise.allSettled(pool.#slots.map((slot) => pool.#startWorker(slot)));
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) {
      pool.close();
      throw failed.reason;
    }
    return pool;
  }

  private constructor(config: SfuConfig, logger: SfuLogger) {
    const log = moduleLogger(logger, 'WorkerPool');
    super((event, error) => log.error({ event, err: error }, 'WorkerPool listener failed'));
    this.config = config;
    this.logger = logger;
    this.#log = log;
    this.#slots = Array.from({ length: config.numWorkers }, (_, index) => ({
      index,
      worker: undefined,
      server: undefined,
      replacing: undefined,
    }));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Live workers, by slot. */
  get workers(): ms.Worker[] {
    return this.#slots.flatMap((slot) => (slot.worker && !slot.worker.closed ? [slot.worker] : []));
  }

  /** The WebRtcServer of a live worker of this pool; WebRtcTransports on its routers must use it. */
  webRtcServer(worker: ms.Worker): ms.WebRtcServer {
    const server = this.#slots.find((slot) => slot.worker === worker && !worker.closed)?.server;
    if (!server) throw new SfuError('worker_unavailable', `worker ${worker.pid} is not a live worker of this pool`);
    return server.webRtcServer;
  }

  /**
   * The port range of a live worker of this pool: its pipe and plain transports
   * bind there (`portRange` of their listen info), so workers never compete for ports.
   */
  portRange(worker: ms.Worker): ms.TransportPortRange {
    const slot = this.#slots.find((s) => s.worker === worker && !worker.closed);
    if (!slot) throw new SfuError('worker_unavailable', `worker ${worker.pid} is not a live worker of this pool`);
    return workerPortRange(this.config, slot.index);
  }

  /** The ports each live worker serves media on, by slot. */
  mediaPorts(): WorkerMediaPorts[] {
    return this.#slots.flatMap((slot) =>
      slot.worker && !slot.worker.closed && slot.server
        ? [{ slot: slot.index, pid: slot.worker.pid, udp: slot.server.udp, tcp: slot.server.tcp }]
        : [],
    );
  }

  load(worker: ms.Worker): WorkerLoad {
    const load = this.#load.get(worker);
    return load ? { ...load } : { routers: 0, consumers: 0 };
  }

  /**
   * The live worker with the fewest consumers (then routers). Workers in
   * `avoid` are only chosen when every live worker is in it. When no worker is
   * alive (all died at once) this waits for the first replacement.
   */
  async leastLoadedWorker(options: { avoid?: Iterable<ms.Worker> } = {}): Promise<ms.Worker> {
    if (this.#closed) throw new SfuError('worker_unavailable', 'worker pool is closed');
    const avoid = new Set(options.avoid ?? []);
    const live = this.workers;
    const preferred = live.filter((worker) => !avoid.has(worker));
    const candidates = preferred.length > 0 ? preferred : live;
    if (candidates.length === 0) {
      const pending = this.#slots.flatMap((slot) => (slot.replacing ? [slot.replacing] : []));
      if (pending.length === 0) throw new SfuError('worker_unavailable', 'no live mediasoup worker');
      return Promise.any(pending).catch(() => {
        throw new SfuError('worker_unavailable', 'no live mediasoup worker');
      });
    }
    let best = candidates[0] as ms.Worker;
    for (const worker of candidates) {
      const a = this.load(worker);
      const b = this.load(best);
      if (a.consumers < b.consumers || (a.consumers === b.consumers && a.routers < b.routers)) best = worker;
    }
    return best;
  }

  /** One row per live worker, for metrics. */
  async getResourceUsage(): Promise<WorkerUsage[]> {
    const rows = await Promise.all(
      this.#slots.map(async (slot): Promise<WorkerUsage | undefined> => {
        const worker = slot.worker;
        if (!worker || worker.closed) return undefined;
        try {
          const usage = await worker.getResourceUsage();
          return {
            slot: slot.index,
            pid: worker.pid,
            cpuMs: usage.ru_utime + usage.ru_stime,
            maxRssKb: usage.ru_maxrss,
            ...this.load(worker),
          };
        } catch {
          // The worker died between the check and the request.
          return undefined;
        }
      }),
    );
    return rows.filter((row) => row !== undefined);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [timer, wake] of this.#respawnWaits) {
      clearTimeout(timer);
      wake();
    }
    this.#respawnWaits.clear();
    for (const slot of this.#slots) {
      slot.worker?.close();
      slot.worker = undefined;
      slot.server = undefined;
    }
    this.#load.clear();
    this.safeEmit('close');
  }

  async #startWorker(slot: Slot): Promise<ms.Worker> {
    // No worker-wide rtcMinPort/rtcMaxPort (deprecated since 3.14): each listen info carries its slot's range.
    const worker = await createWorker({
      logLevel: this.config.logLevel,
      logTags: this.config.logTags,
      appData: { slot: slot.index },
    });
    let server: Slot['server'];
    try {
      server = await this.#listen(worker, slot);
    } catch (error) {
      worker.close();
      throw error;
    }
    if (this.#closed) {
      worker.close();
      throw new SfuError('worker_unavailable', 'worker pool closed while starting a worker');
    }
    slot.worker = worker;
    slot.server = server;
    this.#trackLoad(worker);
    worker.on('died', (error: Error) => this.#onWorkerDied(slot, worker, error));
    this.#log.info({ slot: slot.index, pid: worker.pid, udpPort: server.udp, tcpPort: server.tcp }, 'mediasoup worker serving media');
    return worker;
  }

  /** The worker's WebRtcServer on its slot's port (UDP and TCP), and the ports it got. */
  async #listen(worker: ms.Worker, slot: Slot): Promise<NonNullable<Slot['server']>> {
    const { listenIp: ip, announcedAddress } = this.config;
    const port = workerListenPort(this.config, slot.index);
    // announcedAddress may be a hostname: the worker copies it into the candidates unparsed.
    const listen = {
      ip,
      ...(port === 0 ? { portRange: workerPortRange(this.config, slot.index) } : { port }),
      ...(announcedAddress ? { announcedAddress } : {}),
    };
    let webRtcServer: ms.WebRtcServer;
    try {
      webRtcServer = await worker.createWebRtcServer({
        listenInfos: [
          { protocol: 'udp', ...listen },
          { protocol: 'tcp', ...listen },
        ],
        appData: { slot: slot.index },
      });
    } catch (error) {
      const where = port === 0 ? `a free port of ${this.config.rtcMinPort}-${this.config.rtcMaxPort}` : `port ${port}`;
      throw new SfuError('worker_unavailable', `worker ${slot.index} cannot listen on ${ip} ${where} (UDP and TCP)`, {
        cause: error,
      });
    }
    const dump = (await callMediasoup('dump WebRtcServer', () => webRtcServer.dump())) as {
      udpSockets: { port: number }[];
      tcpServers: { port: number }[];
    };
    return { webRtcServer, udp: dump.udpSockets[0]?.port ?? port, tcp: dump.tcpServers[0]?.port ?? port };
  }

  #onWorkerDied(slot: Slot, worker: ms.Worker, error: Error): void {
    this.#load.delete(worker);
    if (slot.worker === worker) {
      slot.worker = undefined;
      slot.server = undefined;
    }
    if (this.#closed) return;
    this.#log.error({ slot: slot.index, pid: worker.pid, err: error }, 'mediasoup worker died, replacing it');
    this.safeEmit('workerdied', { slot: slot.index, pid: worker.pid, error });
    slot.replacing = this.#replace(slot, worker.pid);
    // Waiters (leastLoadedWorker) handle failure themselves; never leave it unhandled.
    slot.replacing.catch(() => {});
  }

  /** Keeps trying (with backoff) until the slot has a worker or the pool closes. */
  async #replace(slot: Slot, oldPid: number): Promise<ms.Worker> {
    let delayMs = 500;
    for (;;) {
      try {
        const worker = await this.#startWorker(slot);
        slot.replacing = undefined;
        this.#log.warn({ slot: slot.index, oldPid, pid: worker.pid }, 'mediasoup worker replaced');
        this.safeEmit('workerreplaced', { slot: slot.index, oldPid, worker });
        return worker;
      } catch (error) {
        if (this.#closed) {
          slot.replacing = undefined;
          throw error;
        }
        this.#log.error({ slot: slot.index, err: error, retryInMs: delayMs }, 'could not start replacement worker');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            this.#respawnWaits.delete(timer);
            resolve();
          }, delayMs);
          this.#respawnWaits.set(timer, resolve);
        });
        if (this.#closed) {
          slot.replacing = undefined;
          throw new SfuError('worker_unavailable', 'worker pool is closed');
        }
        delayMs = Math.min(delayMs * 2, MAX_RESPAWN_DELAY_MS);
      }
    }
  }

  #trackLoad(worker: ms.Worker): void {
    const load: WorkerLoad = { routers: 0, consumers: 0 };
    this.#load.set(worker, load);
    worker.observer.on('newrouter', (router: ms.Router) => {
      load.routers++;
      router.observer.once('close', () => load.routers--);
      router.observer.on('newtransport', (transport: ms.Transport) => {
        transport.observer.on('newconsumer', (consumer: ms.Consumer) => {
          load.consumers++;
          consumer.observer.once('close', () => load.consumers--);
        });
      });
    });
  }
}
