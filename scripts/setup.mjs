#!/usr/bin/env node
// `npm run setup`: everything a fresh clone needs after `npm ci`, each step
// idempotent and cached, so a second run takes seconds.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const step = (name, cmd, args, opts = {}) => {
  const t = Date.now();
  console.log(`[setup] ${name}...`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.status !== 0) {
    console.error(`[setup] ${name} failed (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
  console.log(`[setup] ${name}: done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
};

// better-sqlite3 compiles its addon in its own install script (allowed in
// package.json's allowScripts). If the install ran with --ignore-scripts, build it here.
const addon = join(root, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
if (!existsSync(addon)) step('better-sqlite3 addon', 'npm', ['rebuild', 'better-sqlite3']);

step('mediasoup worker', process.execPath, [join(root, 'scripts', 'build-mediasoup-worker.mjs')]);

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
  console.log('[setup] client build is up to date');
} else {
  step('client build', 'npm', ['run', 'build', '-w', '@redred/client']);
}

// The server runs compiled (api/dist/server.mjs): always rebuilt, it takes a fraction of a second.
const { buildServer } = await import('./build-server.mjs');
const serverStarted = Date.now();
console.log(`[setup] server build: ${await buildServer(root)} in ${((Date.now() - serverStarted) / 1000).toFixed(1)} s`);
