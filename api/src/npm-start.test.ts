import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './config.ts';
import { bounded, killProcessGroup, processGroup, startNpmStart, survivorsOf, type ServerProcess } from './testing/process.ts';
import { api, registerUser } from './testing/server.ts';
import { TestWsClient } from './testing/ws-client.ts';

// The README's command, run the way a user or a service manager runs it: `npm start`
// from the repository root, configured only through the environment it documents.

// `npm start` runs the compiled server that `npm run setup` builds; build it from
// the sources under test, as setup would (a fraction of a second).
beforeAll(() => {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build-server.mjs')], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('server build failed');
});

/** The command lines of a process group's members (Node 24 names its main thread "MainThread", so not by name). */
function groupCommands(pgid: number): string[] {
  return processGroup(pgid).map((p) => readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' '));
}

let server: ServerProcess | undefined;
const cleanups: (() => void)[] = [];
afterEach(() => {
  if (server) killProcessGroup(server.child.pid!);
  server = undefined;
  for (const c of cleanups.splice(0)) c();
});

describe('npm start, as the README says', () => {
  it('serves the web client at / and at client routes, and keeps the database in <root>/data', async () => {
    const dataDir = join(REPO_ROOT, 'data');
    if (!existsSync(dataDir)) cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    // PORT=0: the kernel picks a free port and the server logs the URL it got.
    server = await startNpmStart({ PORT: '0', RTC_PORT: '0' });

    expect(server.dataDir).toBe(dataDir);
    // Production runs JavaScript: no TypeScript loader in the server's command line.
    const commands = groupCommands(server.child.pid!);
    expect(commands).toContainEqual(expect.stringMatching(/^node api\/dist\/server\.mjs$/));
    expect(commands.join('\n')).not.toContain('tsx');
    expect(existsSync(join(dataDir, 'redred.sqlite'))).toBe(true);
    const home = await fetch(`${server.url}/`);
    expect(home.status).toBe(200);
    expect(home.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await home.text();
    expect(page).toContain('<div id="app"></div>');
    const watch = await fetch(`${server.url}/live/1`);
    expect(watch.status).toBe(200);
    expect(await watch.text()).toBe(page);
    expect(await bounded(server.stop(), 15_000, 'npm start after SIGTERM')).toBe(0);
  });

  it('stops everything it started when npm gets SIGTERM: clients get 1001, no node or mediasoup-worker is left', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'redred-npm-start-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    server = await startNpmStart({ PORT: '0', RTC_PORT: '0', DATA_DIR: dataDir });
    const group = server.child.pid!;
    const host = await registerUser(server.url, 'npm_start_host');
    const created = await api(server.url, 'POST', '/api/live/create/', { token: host.token, body: { title: 'stop me' } });
    const client = await TestWsClient.connect(`${server.url.replace('http', 'ws')}/ws/live/${created.body.stream.id}`, { token: host.token });
    await client.waitFor('connection_established');
    // The group holds npm, the server and its mediasoup workers: what must all be gone after.
    // (/proc cuts process names at 15 characters.)
    const running = processGroup(group).map((p) => p.name);
    expect(running.filter((name) => name.startsWith('mediasoup-worke')).length).toBeGreaterThan(0);
    expect(running.length).toBeGreaterThan(2);

    // What `kill <pid>`, `docker stop` and systemd send: SIGTERM to the process they started.
    const exitCode = await bounded(server.stop(), 15_000, 'npm start after SIGTERM');
    const closeCode = await bounded(client.closedPromise, 5_000, 'the client socket after SIGTERM');
    const survivors = await survivorsOf(group);

    expect(closeCode).toBe(1001);
    expect(survivors).toEqual([]);
    // 0 only from a graceful close: the server's hard-stop timer exits with 1.
    expect(exitCode).toBe(0);
  });
});
