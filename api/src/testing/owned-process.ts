import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bounded } from './process.ts';

/**
 * A real third-party server a test starts (Caddy, nginx, coturn): its own temp
 * folder, its output collected, ready when its log says so, and stopped by
 * `close()` — SIGTERM, then SIGKILL if it lingers — which also removes the
 * folder. `close()` is idempotent, so an `afterAll` can always call it.
 */
export class OwnedProcess {
  readonly name: string;
  /** Config files, pid files, temp paths: everything the process writes goes here. */
  readonly dir: string;
  #child: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  #output = '';
  #listeners = new Set<() => void>();
  #closed = false;

  constructor(name: string) {
    this.name = name;
    this.dir = mkdtempSync(join(tmpdir(), `redred-${name}-`));
    // Servers started as root drop to an unprivileged worker user (nginx: nobody) that must reach this folder.
    chmodSync(this.dir, 0o755);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Everything the process wrote to stdout and stderr so far. */
  get output(): string {
    return this.#output;
  }

  /** Starts `command` in `dir`; resolves once its output matches `ready`, rejects with its output if it exits first. */
  async start(command: string, args: string[], opts: { ready: RegExp; env?: Record<string, string>; readyMs?: number }): Promise<void> {
    if (this.#closed || this.#child) throw new Error(`${this.name}: already started or closed`);
    const child = spawn(command, args, { cwd: this.dir, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const append = (d: Buffer) => {
      this.#output += d.toString();
      for (const l of this.#listeners) l();
    };
    child.stdout!.on('data', append);
    child.stderr!.on('data', append);
    try {
      await bounded(
        Promise.race([
          this.waitForOutput(opts.ready),
          new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`exited with ${code}`)))),
          new Promise<never>((_, reject) => child.once('error', reject)),
        ]),
        opts.readyMs ?? 20_000,
        `${this.name} start`,
      );
    } catch (err) {
      await this.close();
      throw new Error(`${this.name} did not start (${(err as Error).message}); its output:\n${this.#output}`);
    }
  }

  /** Resolves with the output once it matches `pattern` (already, or when more arrives). */
  waitForOutput(pattern: RegExp): Promise<string> {
    return new Promise((resolve) => {
      const check = () => {
        if (!pattern.test(this.#output)) return false;
        this.#listeners.delete(check);
        resolve(this.#output);
        return true;
      };
      if (!check()) this.#listeners.add(check);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      try {
        await bounded(this.#exited, 5000, `${this.name} after SIGTERM`);
      } catch {
        child.kill('SIGKILL');
        await this.#exited;
      }
    }
    this.#listeners.clear();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A TCP port free on 127.0.0.1 now (the kernel's pick), whose UDP twin is free too. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const address = srv.address();
        srv.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const sock = createSocket('udp4');
      sock.once('error', () => resolve(false));
      sock.bind(port, '127.0.0.1', () => sock.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
}

/** The binary's path on PATH, or undefined. */
export function findBinary(name: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() || undefined : undefined;
}

/**
 * Whether tests needing these binaries should skip: only outside CI. Under
 * CI=true a missing binary is a failure (`.ci/run` installs them), so the
 * test runs and says what is missing.
 */
export function skipWithout(...names: string[]): boolean {
  const missing = names.filter((n) => !findBinary(n));
  if (missing.length === 0) return false;
  if (process.env.CI === 'true') return false;
  console.warn(`skipping: ${missing.join(', ')} not installed (apt-get install -y ${missing.join(' ')}); under CI=true this fails`);
  return true;
}

/** The binary's path, or a failure that says how to install it. */
export function requireBinary(name: string, debianPackage = name): string {
  const path = findBinary(name);
  if (!path) throw new Error(`${name} not found: apt-get install -y ${debianPackage} (.ci/run installs it)`);
  return path;
}
