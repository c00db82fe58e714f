import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

// What the harness reads about processes: the server (from its /metrics, or
// from /proc when it runs on this box) and the box itself.

/** One Prometheus sample: name, labels, value. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (no exemplars, no timestamps needed). */
export function parsePrometheus(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[2]) for (const l of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

export interface ServerMetrics {
  at: number;
  viewers: number | null;
  websocketConnections: number | null;
  producers: number | null;
  consumersByWorker: Record<string, number>;
  /** mediasoup workers, cumulative CPU seconds. */
  workerCpuSeconds: number | null;
  workerRssBytes: number | null;
  /** The Node process. */
  processCpuSeconds: number | null;
  processRssBytes: number | null;
  commentsTotal: number | null;
  commentsPerSecond: number | null;
  eventLoopLagP99Seconds: number | null;
  workerPids: number[];
  /** Cluster mode: the node's NODE_ID. */
  nodeId: string | null;
}

export async function scrapeMetrics(baseUrl: string, timeoutMs = 3000): Promise<ServerMetrics | null> {
  try {
    // The server's /metrics needs its METRICS_TOKEN (docs/operations.md); the harness passes the one in its environment.
    const token = process.env.METRICS_TOKEN;
    const res = await fetch(new URL('/metrics', baseUrl), { signal: AbortSignal.timeout(timeoutMs), ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}) });
    if (!res.ok) return null;
    const samples = parsePrometheus(await res.text());
    const one = (name: string) => samples.find((s) => s.name === name)?.value ?? null;
    const sum = (name: string) => {
      const list = samples.filter((s) => s.name === name);
      return list.length ? list.reduce((a, s) => a + s.value, 0) : null;
    };
    const consumersByWorker: Record<string, number> = {};
    for (const s of samples) if (s.name === 'redred_worker_consumers') consumersByWorker[s.labels.worker ?? '?'] = s.value;
    const workerPids = samples.filter((s) => s.name === 'redred_worker_routers').map((s) => Number(s.labels.pid));
    return {
      at: Date.now(),
      viewers: one('redred_viewers'),
      websocketConnections: one('redred_websocket_connections'),
      producers: one('redred_producers'),
      consumersByWorker,
      workerCpuSeconds: sum('redred_worker_cpu_seconds_total'),
      workerRssBytes: sum('redred_worker_resident_memory_bytes'),
      processCpuSeconds: one('process_cpu_seconds_total'),
      processRssBytes: one('process_resident_memory_bytes'),
      commentsTotal: one('redred_comments_total'),
      commentsPerSecond: one('redred_comments_per_second'),
      eventLoopLagP99Seconds: one('nodejs_eventloop_lag_p99_seconds'),
      workerPids,
      nodeId: samples.find((s) => s.name === 'redred_node_info')?.labels.node ?? null,
    };
  } catch {
    return null;
  }
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  /** user + system, seconds. */
  cpuSeconds: number;
  rssBytes: number;
}

export function readProcStat(pid: number): ProcStat | null {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may contain spaces and parentheses: split at the last ')'.
    const close = raw.lastIndexOf(')');
    const comm = raw.slice(raw.indexOf('(') + 1, close);
    const f = raw.slice(close + 2).split(' ');
    // Fields after comm, 0-based: state=0, ppid=1, utime=11, stime=12, rss=21 (pages).
    return { pid, ppid: Number(f[1]), comm, cpuSeconds: (Number(f[11]) + Number(f[12])) / CLK_TCK, rssBytes: Number(f[21]) * 4096 };
  } catch {
    return null;
  }
}

/** Every process on the box, one read of /proc. */
export function allProcesses(): ProcStat[] {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return [];
  }
  return pids.map((p) => readProcStat(Number(p))).filter((s): s is ProcStat => s !== null);
}

/** `root` and all its descendants. */
export function descendants(all: readonly ProcStat[], root: number): ProcStat[] {
  const byParent = new Map<number, ProcStat[]>();
  for (const p of all) byParent.set(p.ppid, [...(byParent.get(p.ppid) ?? []), p]);
  const out: ProcStat[] = [];
  const self = all.find((p) => p.pid === root);
  if (self) out.push(self);
  const stack = [root];
  while (stack.length) {
    for (const child of byParent.get(stack.pop()!) ?? []) {
      out.push(child);
      stack.push(child.pid);
    }
  }
  return out;
}

/** Busy and total jiffies of the whole box (all cores). */
export function boxCpu(): { busy: number; total: number; cores: number } | null {
  try {
    const lines = readFileSync('/proc/stat', 'utf8').split('\n');
    const f = lines[0]!.split(/\s+/).slice(1).map(Number);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    const cores = lines.filter((l) => /^cpu\d+ /.test(l)).length;
    return { busy: total - idle, total, cores };
  } catch {
    return null;
  }
}

/** The pid listening on a local TCP port (from /proc/net/tcp and fd links); null if not found or not permitted. */
export function pidListeningOn(port: number): number | null {
  try {
    const inodes = new Set<string>();
    for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
      let text = '';
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        if (f.length < 10) continue;
        const localPort = parseInt(f[1]!.split(':')[1]!, 16);
        if (localPort === port && f[3] === '0A') inodes.add(f[9]!);
      }
    }
    if (inodes.size === 0) return null;
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      let fds: string[];
      try {
        fds = readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        try {
          const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
          if (m && inodes.has(m[1]!)) return Number(pid);
        } catch {
          // fd closed meanwhile
        }
      }
    }
  } catch {
    // no /proc
  }
  return null;
}
