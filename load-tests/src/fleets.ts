import type { ChatGroupResult, ChatTotals } from './chatter.ts';
import { mergeChatResults } from './chatter.ts';
import type { FromChatterProcess, ToChatterProcess } from './chatter-process.ts';
import { ChildWorker } from './children.ts';
import type { FromViewerProcess, LoopDelay, ToViewerProcess, ViewerJoin, ViewerProgress } from './viewer-process.ts';
import type { ViewerLayer, ViewerResult } from './viewer.ts';

const VIEWER_ENTRY = new URL('./viewer-process.ts', import.meta.url);
const CHATTER_ENTRY = new URL('./chatter-process.ts', import.meta.url);

export interface ViewerTotals {
  started: number;
  connected: number;
  failed: number;
  withFrame: number;
  packets: number;
  bytes: number;
  expected: number;
  cpuMs: number;
  /** Over each process's last progress interval (its own clock, so no aliasing with the sampler): all viewers together. */
  kbps: number;
  packetsPerS: number;
  expectedPerS: number;
}

/** Per second between a process's last two progress messages. */
function rate<T extends { at: number }>(prev: T | undefined, cur: T, f: (m: T) => number): number {
  return prev && cur.at > prev.at ? ((f(cur) - f(prev)) * 1000) / (cur.at - prev.at) : 0;
}

/** The viewer processes of one step; viewers are dealt round-robin so each process carries an equal share. */
export class ViewerFleet {
  readonly #procs: ChildWorker<ToViewerProcess, FromViewerProcess>[];
  readonly #latest = new Map<number, ViewerProgress>();
  readonly #previous = new Map<number, ViewerProgress>();
  #stopped = false;

  readonly #log: (line: string) => void;

  private constructor(procs: ChildWorker<ToViewerProcess, FromViewerProcess>[], log: (line: string) => void) {
    this.#procs = procs;
    this.#log = log;
    procs.forEach((p, i) =>
      p.on((msg) => {
        if (msg.type === 'progress') {
          const last = this.#latest.get(i);
          if (last) this.#previous.set(i, last);
          this.#latest.set(i, msg);
        } else if (msg.type === 'error') log(`${p.name}: ${msg.error.split('\n')[0]}`);
      }),
    );
  }

  static async start(count: number, init: { wsUrl: string; localAddress: string | null; layer: ViewerLayer | null; joinTimeoutMs: number; leanRx: boolean }, log: (line: string) => void, nice = 0): Promise<ViewerFleet> {
    const procs = Array.from({ length: count }, (_, i) => new ChildWorker<ToViewerProcess, FromViewerProcess>(VIEWER_ENTRY, `viewers#${i}`, log, nice));
    const fleet = new ViewerFleet(procs, log);
    try {
      await Promise.all(
        procs.map(async (p) => {
          const ready = p.waitFor('ready', 30_000);
          p.send({ type: 'init', ...init });
          await ready;
        }),
      );
    } catch (err) {
      fleet.kill();
      throw err;
    }
    return fleet;
  }

  get pids(): number[] {
    return this.#procs.flatMap((p) => (p.pid ? [p.pid] : []));
  }

  join(viewers: ViewerJoin[]): void {
    const shares: ViewerJoin[][] = this.#procs.map(() => []);
    viewers.forEach((v, i) => shares[i % shares.length]!.push(v));
    this.#procs.forEach((p, i) => p.send({ type: 'join', viewers: shares[i]! }));
  }

  mark(): void {
    for (const p of this.#procs) p.send({ type: 'mark' });
  }

  endWindow(): void {
    for (const p of this.#procs) p.send({ type: 'endWindow' });
  }

  /** Sums of the processes' latest progress (at most ~1 s old). */
  totals(): ViewerTotals {
    const t: ViewerTotals = { started: 0, connected: 0, failed: 0, withFrame: 0, packets: 0, bytes: 0, expected: 0, cpuMs: 0, kbps: 0, packetsPerS: 0, expectedPerS: 0 };
    for (const [i, p] of this.#latest) {
      const prev = this.#previous.get(i);
      t.kbps += (rate(prev, p, (m) => m.bytes) * 8) / 1000;
      t.packetsPerS += rate(prev, p, (m) => m.packets);
      t.expectedPerS += rate(prev, p, (m) => m.expected);
      t.started += p.started;
      t.connected += p.connected;
      t.failed += p.failed;
      t.withFrame += p.withFrame;
      t.packets += p.packets;
      t.bytes += p.bytes;
      t.expected += p.expected;
      t.cpuMs += p.cpuMs;
    }
    return t;
  }

  /** Ends every viewer's window, closes them, and collects their results. */
  /** `loopDelayMs`: the worst viewer process's event-loop delay over the window. */
  async stop(timeoutMs = 20_000): Promise<{ viewers: ViewerResult[]; cpuMs: number; lostProcesses: number; loopDelayMs: LoopDelay | null }> {
    if (this.#stopped) return { viewers: [], cpuMs: 0, lostProcesses: 0, loopDelayMs: null };
    this.#stopped = true;
    const results = await Promise.all(
      this.#procs.map(async (p) => {
        try {
          const r = p.waitFor('result', timeoutMs);
          p.send({ type: 'stop' });
          return await r;
        } catch (err) {
          this.#log(String(err instanceof Error ? err.message : err));
          return null;
        }
      }),
    );
    this.kill();
    const cpuMs = results.reduce((a, r) => a + (r?.cpuMs ?? 0), 0);
    const loops = results.flatMap((r) => (r?.loopDelayMs ? [r.loopDelayMs] : []));
    const loopDelayMs = loops.length ? { p50: Math.max(...loops.map((l) => l.p50)), p99: Math.max(...loops.map((l) => l.p99)) } : null;
    this.#latest.clear();
    return { viewers: results.flatMap((r) => r?.viewers ?? []).sort((a, b) => a.index - b.index), cpuMs, lostProcesses: results.filter((r) => r === null).length, loopDelayMs };
  }

  kill(): void {
    for (const p of this.#procs) p.kill();
  }
}

export interface ChatFleetTotals {
  connected: number;
  sent: number;
  acked: number;
  rejected: number;
  delivered: number;
  sentPerS: number;
  deliveredPerS: number;
  ackP99: number | null;
  deliveryP99: number | null;
  cpuMs: number;
}

/** The chatter processes: each holds a share of the sockets and sends a share of the rate. */
export class ChatFleet {
  readonly #procs: ChildWorker<ToChatterProcess, FromChatterProcess>[];
  readonly #shares: number[];
  readonly #latest = new Map<number, Extract<FromChatterProcess, { type: 'progress' }>>();
  readonly #previous = new Map<number, Extract<FromChatterProcess, { type: 'progress' }>>();
  readonly connected: number;
  readonly failed: number;
  #stopped = false;

  readonly #log: (line: string) => void;

  private constructor(procs: ChildWorker<ToChatterProcess, FromChatterProcess>[], shares: number[], connected: number, failed: number, log: (line: string) => void) {
    this.#procs = procs;
    this.#log = log;
    this.#shares = shares;
    this.connected = connected;
    this.failed = failed;
    procs.forEach((p, i) =>
      p.on((msg) => {
        if (msg.type !== 'progress') return;
        const last = this.#latest.get(i);
        if (last) this.#previous.set(i, last);
        this.#latest.set(i, msg);
      }),
    );
  }

  /** Forks the processes and connects every socket (socket i uses tokens[i]). */
  static async start(o: { wsUrl: string; tokens: string[]; procs: number; tag: string; nice: number }, log: (line: string) => void): Promise<ChatFleet> {
    const count = Math.max(1, Math.min(o.procs, o.tokens.length));
    const procs = Array.from({ length: count }, (_, i) => new ChildWorker<ToChatterProcess, FromChatterProcess>(CHATTER_ENTRY, `chatters#${i}`, log, o.nice));
    for (const p of procs) p.on((msg) => msg.type === 'error' && log(`${p.name}: ${msg.error.split('\n')[0]}`));
    const shares = procs.map((_, i) => o.tokens.filter((_, j) => j % count === i));
    try {
      const connected = await Promise.all(
        procs.map(async (p, i) => {
          const done = p.waitFor('connected', 60_000 + shares[i]!.length * 100);
          p.send({ type: 'connect', options: { wsUrl: o.wsUrl, tokens: shares[i]!, tag: o.tag, seqBase: i, seqStride: count, connectConcurrency: 16 } });
          return done;
        }),
      );
      return new ChatFleet(
        procs,
        shares.map((s) => s.length),
        connected.reduce((a, c) => a + c.connected, 0),
        connected.reduce((a, c) => a + c.failed, 0),
        log,
      );
    } catch (err) {
      for (const p of procs) p.kill();
      throw err;
    }
  }

  get pids(): number[] {
    return this.#procs.flatMap((p) => (p.pid ? [p.pid] : []));
  }

  /** `rate` messages/s in total, split by each process's share of the sockets. */
  send(rate: number, startAt: number, stopAt: number): void {
    const total = this.#shares.reduce((a, b) => a + b, 0);
    this.#procs.forEach((p, i) => p.send({ type: 'send', rate: (rate * this.#shares[i]!) / total, startAt, stopAt }));
  }

  totals(): ChatFleetTotals {
    const t: ChatFleetTotals = { connected: 0, sent: 0, acked: 0, rejected: 0, delivered: 0, sentPerS: 0, deliveredPerS: 0, ackP99: null, deliveryP99: null, cpuMs: 0 };
    for (const [i, p] of this.#latest) {
      const prev = this.#previous.get(i);
      t.sentPerS += rate(prev, p, (m) => m.sent);
      t.deliveredPerS += rate(prev, p, (m) => m.delivered);
      t.connected += p.connected;
      t.sent += p.sent;
      t.acked += p.acked;
      t.rejected += p.rejected;
      t.delivered += p.delivered;
      t.cpuMs += p.cpuMs;
      // The worst process's p99 stands for all: a progress line, not the report.
      if (p.ackP99 !== null) t.ackP99 = Math.max(t.ackP99 ?? 0, p.ackP99);
      if (p.deliveryP99 !== null) t.deliveryP99 = Math.max(t.deliveryP99 ?? 0, p.deliveryP99);
    }
    return t;
  }

  async stop(timeoutMs = 20_000): Promise<{ totals: ChatTotals; cpuMs: number; lostProcesses: number }> {
    if (this.#stopped) throw new Error('chat fleet already stopped');
    this.#stopped = true;
    const results = await Promise.all(
      this.#procs.map(async (p) => {
        try {
          const r = p.waitFor('result', timeoutMs);
          p.send({ type: 'stop' });
          return await r;
        } catch (err) {
          this.#log(String(err instanceof Error ? err.message : err));
          return null;
        }
      }),
    );
    this.kill();
    const ok = results.filter((r): r is { type: 'result'; result: ChatGroupResult; cpuMs: number } => r !== null);
    return { totals: mergeChatResults(ok.map((r) => r.result)), cpuMs: ok.reduce((a, r) => a + r.cpuMs, 0), lostProcesses: results.length - ok.length };
  }

  kill(): void {
    for (const p of this.#procs) p.kill();
  }
}
