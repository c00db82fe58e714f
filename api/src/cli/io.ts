import { createInterface } from 'node:readline';
import { configFromEnv, type AppConfig } from '../config.ts';

/** What a command may do to the outside world: injected so commands can be driven in-process too. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** Asks a yes/no question; only `y` or `yes` is a yes, and end of input is a no. */
  confirm(question: string): Promise<boolean>;
  env: NodeJS.ProcessEnv;
  now(): number;
}

export function processIo(): CliIo {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    confirm: (question) =>
      new Promise((resolve) => {
        const rl = createInterface({ input: process.stdin, output: process.stdout });
        let answered = false;
        rl.question(question, (answer) => {
          answered = true;
          // A piped answer is not echoed: end the prompt's line ourselves.
          if (!process.stdin.isTTY) process.stdout.write('\n');
          rl.close();
          resolve(/^y(es)?$/i.test(answer.trim()));
        });
        // Ctrl-C at the prompt (a raw-mode terminal sends it as a key, not a signal) is a no.
        rl.once('SIGINT', () => rl.close());
        rl.once('close', () => {
          if (!answered) {
            process.stdout.write('\n');
            resolve(false);
          }
        });
      }),
    env: process.env,
    now: Date.now,
  };
}

/** The server's configuration from the command's environment, or null once the operator is told why not. */
export function configFor(io: CliIo): AppConfig | null {
  try {
    return configFromEnv(io.env);
  } catch (err) {
    io.err(`redred: ${err instanceof Error ? err.message : String(err)}`);
    return null;
  }
}
