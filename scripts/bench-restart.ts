// Restart after a crash: from starting the process to GET /health answering 200,
// with a live stream in the database for crash recovery to pick up. Each round
// SIGKILLs the whole service (npm, node, mediasoup workers) and starts it again.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../api/src/config.ts';
import { freePort } from '../api/src/testing/owned-process.ts';
import { killProcessGroup, survivorsOf } from '../api/src/testing/process.ts';
import { publishCamera } from '../api/src/testing/publish.ts';
import { api, registerUser } from '../api/src/testing/server.ts';
import { TestWsClient } from '../api/src/testing/ws-client.ts';
import { median } from './bench-db.ts';

const COMMANDS: Record<string, string[]> = {
  'npm start (api/dist/server.mjs)': ['npm', 'start'],
  'node api/dist/server.mjs': [process.execPath, 'api/dist/server.mjs'],
  'node --import tsx api/src/server.ts (before)': [process.execPath, '--import', 'tsx', 'api/src/server.ts'],
};

/** Starts the service in its own process group; resolves with the group id and the ms until /health is 200. */
async function startTimed(command: string[], env: Record<string, string>, port: number): Promise<{ pgid: number; ms: number }> {
  const t0 = performance.now();
  const child = spawn(command[0]!, command.slice(1), { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: 'ignore', detached: true });
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`${command.join(' ')} exited with ${code}`))));
  exited.catch(() => {});
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      if (res.status === 200) return { pgid: child.pid!, ms: performance.now() - t0 };
    } catch {
      // not listening yet
    }
    await Promise.race([new Promise((r) => setTimeout(r, 10)), exited]);
    if (performance.now() - t0 > 30_000) throw new Error(`${command.join(' ')}: no /health after 30 s`);
  }
}

async function crash(pgid: number): Promise<void> {
  killProcessGroup(pgid);
  if ((await survivorsOf(pgid)).length > 0) throw new Error('processes survived SIGKILL');
}

export async function runRestartBench(opts: { rounds?: number } = {}) {
  const rounds = opts.rounds ?? 5;
  const build = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build-server.mjs')], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('server build failed');
  const results: Record<string, number> = {};
  for (const [name, command] of Object.entries(COMMANDS)) {
    const dataDir = mkdtempSync(join(tmpdir(), 'redred-restart-'));
    const port = await freePort();
    const env = { DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', MEDIASOUP_WORKERS: '2' };
    try {
      // A stream goes live (a real producer on the SFU), then the service dies with it.
      let { pgid } = await startTimed(command, env, port);
      const base = `http://127.0.0.1:${port}`;
      const host = await registerUser(base, 'restart_host');
      const streamId = (await api(base, 'POST', '/api/live/create/', { token: host.token, body: { title: 'restart' } })).body.stream.id as number;
      const streamer = await TestWsClient.connect(`ws://127.0.0.1:${port}/ws/live/${streamId}`, { token: host.token });
      await streamer.waitFor('connection_established');
      await publishCamera(streamer);
      await streamer.waitFor('stream_live');
      await crash(pgid);
      await streamer.close();
      const times: number[] = [];
      for (let i = 0; i < rounds; i++) {
        const started = await startTimed(command, env, port);
        pgid = started.pgid;
        times.push(started.ms);
        const stream = await api(base, 'GET', `/api/live/${streamId}`);
        if (stream.body.stream.status !== 'live') throw new Error(`the stream did not survive the restart: ${JSON.stringify(stream.body)}`);
        await crash(pgid);
      }
      results[`${name}: start → /health 200, median ms of ${rounds}`] = median(times);
      results[`${name}: max ms`] = Math.max(...times);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  return results;
}
