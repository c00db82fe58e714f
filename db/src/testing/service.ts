import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

// Real servers a db test owns (PostgreSQL): a child process in a temp dir on a
// free port, stopped by the test that started it. The api's tests have the same
// for third-party servers in api/src/testing/owned-process.ts; db cannot import
// from api, and PostgreSQL needs what that one does not (another user, data
// kept across a restart).

/** A port free on 127.0.0.1 right now (the kernel picks it; a server started on it may still lose a race, so callers retry). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** uid and gid of a system account, from /etc/passwd; undefined if there is none. */
export function systemUser(name: string): { uid: number; gid: number } | undefined {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name && uid !== undefined && gid !== undefined) return { uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}

/** Whether the CI flag is set: there, a service the tests need and cannot find is a failure, never a skip. */
export const inCI = (env: NodeJS.ProcessEnv = process.env): boolean => Boolean(env.CI) && env.CI !== 'false' && env.CI !== '0';

export class ServiceStartError extends Error {
  readonly code = 'service_start_failed';
  override readonly name = 'ServiceStartError';
}

export interface OwnedProcess {
  readonly child: ChildProcess;
  /** Resolves with the exit code once the process has exited (null after a signal). */
  readonly exited: Promise<number | null>;
  /** Everything it wrote so far (stdout and stderr interleaved), for error messages. */
  output(): string;
}

/**
 * Spawns `command` and resolves once a line of its output matches `ready`;
 * rejects with its output if it exits first. No timer: the process either
 * says it is ready or exits.
 */
export function startOwnedProcess(
  command: string,
  args: readonly string[],
  opts: { ready: RegExp; user?: { uid: number; gid: number }; cwd?: string },
): Promise<OwnedProcess> {
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    ...(opts.user ? { uid: opts.user.uid, gid: opts.user.gid } : {}),
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const owned: OwnedProcess = { child, exited, output: () => out };
  return new Promise<OwnedProcess>((resolve, reject) => {
    let isReady = false;
    const onData = (d: Buffer) => {
      out += d.toString();
      if (!isReady && opts.ready.test(out)) {
        isReady = true;
        resolve(owned);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', (err) => reject(new ServiceStartError(`${command}: ${err.message}`, { cause: err })));
    void exited.then((code) => {
      if (!isReady) reject(new ServiceStartError(`${command} exited with ${code} before it was ready:\n${out}`));
    });
  });
}

/** Runs a command to completion; rejects with its output on a non-zero exit. */
export function run(command: string, args: readonly string[], opts: { user?: { uid: number; gid: number } } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(opts.user ? { uid: opts.user.uid, gid: opts.user.gid } : {}) });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new ServiceStartError(`${command} ${args.join(' ')} exited with ${code}:\n${out}`))));
  });
}
