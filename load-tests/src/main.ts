// `npm run load -- --url http://127.0.0.1:8080 --viewers 200 --chatters 500 --rate 50 --duration 60`
import { searchCapacity } from './capacity.ts';
import { parseCli, resolveOptions, USAGE, type LoadOptions } from './options.ts';
import { writeReport } from './report.ts';
import { formatReport } from './report-lines.ts';
import { runLoadTest } from './run.ts';
import { openSessions } from './session.ts';

function elapsed(start: number): string {
  return `${((Date.now() - start) / 1000).toFixed(1)} s`;
}

/** Longest a run may take before the watchdog ends the process: every phase's own bound, plus teardown. */
function watchdogMs(o: LoadOptions): number {
  const setup = 120 + o.chatters / 20 + o.warmupS + (o.baselineS > 0 ? o.joinTimeoutS + o.baselineS + 10 : 0);
  const run = o.capacity
    ? Math.ceil((o.capacity.max - o.capacity.start) / o.capacity.step + 1) * (o.capacity.max / o.rampPerSecond + o.joinTimeoutS + o.settleS + o.capacity.stepSeconds + 30)
    : o.durationS;
  return (setup + run + 60) * 1000;
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseCli>;
  try {
    parsed = parseCli(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const o = resolveOptions(parsed);
  const start = Date.now();
  const watchdog = setTimeout(() => {
    process.stderr.write(`[load] hard stop: the run exceeded ${watchdogMs(o) / 1000} s; exiting\n`);
    process.exit(3);
  }, watchdogMs(o));
  watchdog.unref();
  const hooks = {
    log: (line: string) => process.stderr.write(`[load ${elapsed(start).padStart(7)}] ${line}\n`),
    progress: (line: string) => process.stderr.write(`${line}\n`),
  };
  let stopping = false;
  process.on('SIGINT', () => {
    if (stopping) process.exit(130);
    stopping = true;
    hooks.log('interrupted: ending the stream and stopping the generator (Ctrl-C again to leave at once)');
    const cleanup = Promise.all([...openSessions].map((s) => s.close().catch(() => {})));
    void Promise.race([cleanup, new Promise((r) => setTimeout(r, 5000))]).then(() => process.exit(130));
  });
  try {
    const report = o.capacity ? await searchCapacity(o, hooks) : await runLoadTest(o, hooks);
    process.stdout.write(`\n${formatReport(report)}\n`);
    const files = writeReport(report, o.outDir);
    process.stdout.write(`\nwritten: ${files.json}\n         ${files.svg}\n`);
    return report.checks.every((c) => c.ok) ? 0 : 1;
  } catch (err) {
    hooks.log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 1;
  }
}

process.exitCode = await main();
// Generator processes are killed by then; do not wait for stray sockets.
setTimeout(() => process.exit(process.exitCode), 500).unref();
