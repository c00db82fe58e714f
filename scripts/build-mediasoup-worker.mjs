#!/usr/bin/env node
// Builds the mediasoup 3.8.4 C++ worker offline, once, and caches it.
//
// Why a script of ours: current mediasoup downloads its worker or its deps at
// install, which fails on a closed network. 3.8.4 vendors everything but needs
// two workarounds on today's Debian: its gyp wants Python <= 3.9 (or a
// collections.MutableSet shim on newer Pythons), and its abseil uses SIGSTKSZ
// as a constant, which glibc >= 2.34 made a runtime value.
//
// Order: MEDIASOUP_WORKER_BIN set -> nothing to do. Binary already in
// node_modules -> nothing to do. Cached binary for this version -> copy it
// (seconds). Otherwise build (about 6 minutes on 2 cores) and fill the cache.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const log = (msg) => console.log(`[mediasoup-worker] ${msg}`);
const fail = (msg) => {
  console.error(`[mediasoup-worker] ERROR: ${msg}`);
  process.exit(1);
};

if (process.env.MEDIASOUP_WORKER_BIN) {
  const bin = process.env.MEDIASOUP_WORKER_BIN;
  if (!existsSync(bin)) fail(`MEDIASOUP_WORKER_BIN=${bin} does not exist`);
  log(`using MEDIASOUP_WORKER_BIN=${bin}; skipping the build`);
  process.exit(0);
}

const require = createRequire(join(root, 'sfu', 'package.json'));
let msDir;
try {
  msDir = dirname(require.resolve('mediasoup/package.json'));
} catch {
  fail('mediasoup is not installed: run `npm ci --ignore-scripts` first');
}
const msVersion = JSON.parse(readFileSync(join(msDir, 'package.json'), 'utf8')).version;
const workerDir = join(msDir, 'worker');
const target = join(workerDir, 'out', 'Release', 'mediasoup-worker');

function workerRuns(bin) {
  // An ELF executable of plausible size: the worker cannot run without its
  // channel pipes, so a full start is left to the sfu tests.
  try {
    const head = readFileSync(bin).subarray(0, 4);
    return head.toString('latin1') === '\x7fELF' && statSync(bin).size > 1_000_000;
  } catch {
    return false;
  }
}

const cacheKey = createHash('sha256')
  .update([msVersion, process.platform, process.arch, readGlibc()].join('|'))
  .digest('hex')
  .slice(0, 12);
const cacheDir = process.env.REDRED_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'redred');
const cached = join(cacheDir, `mediasoup-worker-${msVersion}-${cacheKey}`);

if (existsSync(target) && statSync(target).size > 0 && workerRuns(target)) {
  log(`worker present at ${target}`);
  if (!existsSync(cached)) store(target);
  process.exit(0);
}
if (existsSync(cached) && workerRuns(cached)) {
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(cached, target);
  chmodSync(target, 0o755);
  log(`copied cached worker ${cached} -> ${target}`);
  process.exit(0);
}

for (const tool of ['make', 'g++', 'gcc']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    fail(`'${tool}' is missing: install it (apt-get install -y build-essential)`);
  }
}

const python = findPython();
log(`python: ${python.bin} (${python.version.join('.')})${python.shim ? ' with collections shim' : ''}`);

const shimDir = join(root, '.cache', 'mediasoup-build');
mkdirSync(shimDir, { recursive: true });
const sigHeader = join(shimDir, 'sigstksz.h');
writeFileSync(
  sigHeader,
  [
    '/* abseil (vendored by mediasoup 3.8.4) sizes a static array with SIGSTKSZ, */',
    '/* which glibc >= 2.34 turned into a sysconf() call. Pin the classic values. */',
    '#include <signal.h>',
    '#undef SIGSTKSZ',
    '#define SIGSTKSZ 16384',
    '#undef MINSIGSTKSZ',
    '#define MINSIGSTKSZ 4096',
    '',
  ].join('\n'),
);
const env = {
  ...process.env,
  PYTHON: python.bin,
  CXXFLAGS: `${process.env.CXXFLAGS ?? ''} -include ${sigHeader}`.trim(),
  CORES: String(Math.max(1, cpus().length)),
};
if (python.shim) {
  // sitecustomize runs at interpreter start: it restores the aliases gyp uses.
  writeFileSync(
    join(shimDir, 'sitecustomize.py'),
    'import collections, collections.abc\n' +
      'for _n in ("MutableSet", "Mapping", "MutableMapping", "Sequence", "Iterable"):\n' +
      '    if not hasattr(collections, _n):\n' +
      '        setattr(collections, _n, getattr(collections.abc, _n))\n',
  );
  env.PYTHONPATH = [shimDir, process.env.PYTHONPATH].filter(Boolean).join(':');
}

log(`building mediasoup ${msVersion} worker with ${env.CORES} jobs (about 6 minutes on 2 cores)...`);
const started = Date.now();
const build = spawnSync('make', ['-C', workerDir], { env, stdio: ['ignore', 'inherit', 'inherit'] });
if (build.status !== 0 || !existsSync(target)) {
  fail(`make -C ${workerDir} failed (exit ${build.status}); see the output above`);
}
log(`built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
store(target);

function store(bin) {
  try {
    mkdirSync(cacheDir, { recursive: true });
    copyFileSync(bin, `${cached}.tmp`);
    chmodSync(`${cached}.tmp`, 0o755);
    spawnSync('mv', [`${cached}.tmp`, cached]);
    log(`cached at ${cached}`);
  } catch (err) {
    log(`could not write the cache (${err.message}); the next setup will rebuild`);
  }
}

function readGlibc() {
  const r = spawnSync('ldd', ['--version'], { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n')[0] ?? 'unknown';
}

function pythonVersion(bin) {
  const r = spawnSync(bin, ['-c', 'import sys; print("%d %d" % sys.version_info[:2])'], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  const [major, minor] = r.stdout.trim().split(' ').map(Number);
  return [major, minor];
}

function findPython() {
  const candidates = [process.env.PYTHON, 'python3.9', 'python3.8', 'python3.7', 'python2.7', 'python2', 'python3', 'python'];
  let fallback = null;
  for (const bin of candidates) {
    if (!bin) continue;
    const version = pythonVersion(bin);
    if (!version) continue;
    const [major, minor] = version;
    if (major === 2 || (major === 3 && minor <= 9)) return { bin, version, shim: false };
    if (!fallback) fallback = { bin, version, shim: true };
  }
  if (fallback) return fallback;
  fail('no Python found: mediasoup 3.8.4 needs python3 (<= 3.9, or newer with our shim) or python2.7 (apt-get install -y python3)');
}
