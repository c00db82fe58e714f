import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../config.ts';

const apiDir = join(REPO_ROOT, 'api');

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** The folder the server says it opened its database in. */
  dataDir: string;
  /** Everything the server wrote to stdout (pino JSON lines), once its output is closed. */
  log(): Promise<string>;
  /** SIGKILL: no shutdown hook runs, as in a crash or power cut of the process. */
  kill(): Promise<void>;
  stop(): Promise<number | null>;
}

/** Rejects with `what` if `promise` has not settled within `ms`: a test fails instead of hanging. */
export function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  return Promise.race([promise, expiry]).finally(() => clearTimeout(timer));
}

/** Resolves once the server logs that it listens; rejects with its stderr if it exits first. */
function untilUp(child: ChildProcess): Promise<{ url: string; dataDir: string }> {
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d.toString()));
  const up = new Promise<{ url: string; dataDir: string }>((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      for (const line of buf.split('\n')) {
        if (!line.includes('RED-RED Live is up')) continue;
        const { url, dataDir } = JSON.parse(line) as { url: string; dataDir: string };
        // Detached once up: a long run (cluster-local.ts under load) must not re-split all its output per chunk.
        child.stdout!.off('data', onData);
        resolve({ url, dataDir });
        return;
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return bounded(up, 30_000, 'server start').catch((err: Error) => {
    throw new Error(`${err.message}; stderr:\n${stderr}`);
  });
}

/** Collects stdout from the start, so `log()` holds the lines before "up" too. */
function collect(child: ChildProcess): () => Promise<string> {
  let stdout = '';
  child.stdout!.on('data', (d) => (stdout += d.toString()));
  const closed = new Promise<void>((r) => child.stdout!.once('close', () => r()));
  return async () => {
    await closed;
    return stdout;
  };
}

function handle(child: ChildProcess, started: { url: string; dataDir: string }, log: () => Promise<string>): ServerProcess {
  const exited = new Promise<number | null>((r) => {
    if (child.exitCode !== null || child.signalCode !== null) r(child.exitCode);
    else child.once('exit', (code) => r(code));
  });
  return {
    child,
    ...started,
    log,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Starts the real server entry (`src/server.ts`) as a child process and waits for it to listen. */
export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(apiDir, 'src', 'server.ts')], {
    cwd: apiDir,
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', MEDIASOUP_WORKERS: '1', RTC_PORT: '0', REGISTRATIONS_PER_IP_PER_HOUR: '1000000', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = collect(child);
  try {
    return handle(child, await untilUp(child), log);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

/**
 * `npm start` from the repository root, as the README says, with only `env` on
 * top of what npm itself needs (no inherited configuration). It leads its own
 * process group, so `processGroup(child.pid)` finds every process it started.
 */
export async function startNpmStart(env: Record<string, string>): Promise<ServerProcess> {
  const base: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'USER', 'LANG', 'TMPDIR']) {
    const value = process.env[name];
    if (value !== undefined) base[name] = value;
  }
  const child = spawn('npm', ['start'], { cwd: REPO_ROOT, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const log = collect(child);
  try {
    return handle(child, await untilUp(child), log);
  } catch (err) {
    killProcessGroup(child.pid!);
    throw err;
  }
}

export interface GroupMember {
  pid: number;
  name: string;
}

/** Live (not zombie) processes of a process group, read from /proc. */
export function processGroup(pgid: number): GroupMember[] {
  const members: GroupMember[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
    const close = stat.lastIndexOf(')');
    const [state, , pgrp] = stat.slice(close + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') members.push({ pid: Number(entry), name: stat.slice(stat.indexOf('(') + 1, close) });
  }
  return members;
}

/**
 * What is left of a process group once it settles. A grandchild's exit raises no
 * event here, so /proc is read again until the group is empty or `boundMs` has
 * passed: a survivor fails the test instead of hanging it.
 */
export async function survivorsOf(pgid: number, boundMs = 10_000): Promise<GroupMember[]> {
  const deadline = Date.now() + boundMs;
  let members = processGroup(pgid);
  while (members.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    members = processGroup(pgid);
  }
  return members;
}

/** SIGKILL to every process of a group this test started (cleanup after a failure). */
export function killProcessGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}
