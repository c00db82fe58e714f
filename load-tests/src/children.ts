import { fork, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';

const TSX = import.meta.resolve('tsx');

/**
 * A generator process (viewers or chatters) running a TypeScript entry under
 * tsx, with typed IPC. Owned by the orchestrator: `kill()` is idempotent and
 * `exited` settles when the process is gone.
 */
export class ChildWorker<In extends { type: string }, Out extends { type: string }> {
  readonly name: string;
  readonly exited: Promise<number | null>;
  readonly #child: ChildProcess;
  readonly #listeners = new Set<(msg: Out) => void>();
  #exitCode: number | null | undefined = undefined;
  #killed = false;

  constructor(entry: URL, name: string, log: (line: string) => void, nice = 0) {
    this.name = name;
    this.#child = fork(fileURLToPath(entry), [], {
      execArgv: ['--import', TSX],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    if (nice > 0 && this.#child.pid) {
      try {
        setPriority(this.#child.pid, nice);
      } catch {
        // Not permitted: the generator competes at normal priority.
      }
    }
    let stderr = '';
    this.#child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      let nl: number;
      while ((nl = stderr.indexOf('\n')) >= 0) {
        const line = stderr.slice(0, nl);
        stderr = stderr.slice(nl + 1);
        // werift logs a few harmless warnings; keep real errors visible.
        if (line.trim() && !/ExperimentalWarning|--trace-warnings/.test(line)) log(`${name}: ${line}`);
      }
    });
    this.#child.on('message', (msg) => {
      for (const l of this.#listeners) l(msg as Out);
    });
    this.exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        this.#exitCode = code;
        if (!this.#killed && (code !== 0 || signal)) log(`${name} exited unexpectedly (${signal ?? `code ${code}`})`);
        resolve(code);
      });
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get alive(): boolean {
    return this.#exitCode === undefined;
  }

  send(msg: In): void {
    if (this.alive && this.#child.connected) this.#child.send(msg);
  }

  on(listener: (msg: Out) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  waitFor<T extends Out['type']>(type: T, timeoutMs: number): Promise<Extract<Out, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`${this.name}: no ${type} within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.on((msg) => {
        if (msg.type !== type) return;
        clearTimeout(timer);
        off();
        resolve(msg as Extract<Out, { type: T }>);
      });
      void this.exited.then((code) => {
        clearTimeout(timer);
        off();
        reject(new Error(`${this.name} exited (${code}) before ${type}`));
      });
    });
  }

  kill(): void {
    this.#killed = true;
    if (this.alive) this.#child.kill('SIGKILL');
  }
}
