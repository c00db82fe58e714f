#!/usr/bin/env node
// `npm run setup`: everything a fresh clone needs after `npm ci`, each step
// idempotent and cached, so a second run takes seconds.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureNodeRuntime } from './node-runtime.mjs';
import { makeLog, runNpm } from './setup-env.mjs';
import { ensureSqliteAddon } from './sqlite-addon.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const log = makeLog('setup');
const started = Date.now();
const step = (name, run) => {
  const t = Date.now();
  log.info(`${name}...`);
  const r = run();
  if (r.status !== 0) log.fail(`${name} failed (exit ${r.status ?? r.error?.message})`);
  log.info(`${name}: done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
};

const runtime = ensureNodeRuntime(root, log);
// Children find the runtime node first, also when setup was not started by npm.
const env = { ...process.env, PATH: [dirname(runtime.node), join(root, 'node_modules', '.bin'), process.env.PATH].join(delimiter) };
// node-gyp must build against the runtime's own headers, never download them
// (and never use a nodedir from npmrc meant for another node).
if (runtime.nodedir) env.npm_config_nodedir = runtime.nodedir;

ensureSqliteAddon(root, runtime, env, log);
// @node-rs/argon2 ships N-API prebuilt packages that load on any node: only checked.
const argon2 = spawnSync(runtime.node, ['-e', "require('@node-rs/argon2').hashSync('setup-check')"], { cwd: join(root, 'api'), encoding: 'utf8' });
if (argon2.status !== 0) log.fail(`@node-rs/argon2 does not load on ${runtime.node}:\n${argon2.stderr}`);

step('mediasoup worker', () =>
  spawnSync(runtime.node, [join(root, 'scripts', 'build-mediasoup-worker.mjs')], { cwd: root, env, stdio: 'inherit' }),
);

// The client build is skipped when dist is newer than every source file.
const newest = (dir) => {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
};
const clientDir = join(root, 'client');
const distIndex = join(clientDir, 'dist', 'index.html');
const sources = Math.max(newest(join(clientDir, 'src')), statSync(join(clientDir, 'index.html')).mtimeMs, newest(join(root, 'api', 'src', 'protocol')));
if (existsSync(distIndex) && statSync(distIndex).mtimeMs > sources) {
  log.info('client build is up to date');
} else {
  step('client build', () => runNpm(['run', 'build', '-w', '@redred/client'], { node: runtime.node, cwd: root, env, stdio: 'inherit' }));
}

// The server runs compiled (api/dist/server.mjs): always rebuilt, it takes a fraction of a second.
const { buildServer } = await import('./build-server.mjs');
const serverStarted = Date.now();
log.info(`server build: ${await buildServer(root)} in ${((Date.now() - serverStarted) / 1000).toFixed(1)} s`);
log.info(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
