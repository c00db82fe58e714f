#!/usr/bin/env node
// Builds the mediasoup C++ worker offline, once, and caches it.
//
// Why a script of ours: mediasoup's own install downloads a prebuilt worker,
// or else meson and ninja from PyPI and every C++ dependency (OpenSSL, libuv,
// libsrtp, usrsctp, abseil, ...) from GitHub; none of that is reachable on a
// closed network. We take the npm tarball and apply
// sfu/engine/mediasoup-<version>-debian12.patch, which replaces each meson
// subproject with the Debian -dev package and drops the test and fuzzer
// targets. So only the npm registry and Debian's archive are used. Fixes of
// our own to mediasoup's C++ (each its own mediasoup-<version>-<what>.patch,
// with a header saying why) apply after it, in name order. The binary links those libraries dynamically: a host that
// runs it needs their runtime packages (README, "Deploying").
//
// Order: MEDIASOUP_WORKER_BIN set -> check it loads, build nothing (mediasoup
// itself honours the variable). Cached binary for this key -> copy it where
// mediasoup looks for it (seconds). Otherwise install the build packages (as
// root; else print the apt-get line), npm pack, patch, meson + ninja (6 to 21
// minutes on 2 cores), fill the cache, copy.
//
// `--apt-packages` prints the Debian build packages and exits (.ci/run).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir, makeLog, runNpm } from './setup-env.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const log = makeLog('mediasoup-worker');

let msDir;
try {
  // 3.13+ export no ./package.json: walk up from the entry point instead.
  msDir = dirname(createRequire(join(root, 'sfu', 'package.json')).resolve('mediasoup'));
  while (!existsSync(join(msDir, 'package.json')) || JSON.parse(readFileSync(join(msDir, 'package.json'), 'utf8')).name !== 'mediasoup') {
    if (dirname(msDir) === msDir) throw new Error('no package.json');
    msDir = dirname(msDir);
  }
} catch {
  log.fail('mediasoup is not installed: run `npm ci` first');
}
const version = JSON.parse(readFileSync(join(msDir, 'package.json'), 'utf8')).version;
const engineDir = join(root, 'sfu', 'engine');
const patchFile = join(engineDir, `mediasoup-${version}-debian12.patch`);
if (!existsSync(patchFile)) {
  log.fail(`no build patch for mediasoup ${version}: ${relative(root, patchFile)} is missing (see sfu/engine/README.md)`);
}
// The build patch first (it creates the compat headers the others may need), then our fixes.
const fixFiles = readdirSync(engineDir)
  .filter((f) => f.startsWith(`mediasoup-${version}-`) && f.endsWith('.patch') && f !== `mediasoup-${version}-debian12.patch`)
  .sort()
  .map((f) => join(engineDir, f));
const patchFiles = [patchFile, ...fixFiles];
const buildPackages = debianBuildPackages(readFileSync(patchFile, 'utf8'));

if (process.argv.includes('--apt-packages')) {
  console.log(buildPackages.join(' '));
  process.exit(0);
}

if (process.env.MEDIASOUP_WORKER_BIN) {
  const bin = process.env.MEDIASOUP_WORKER_BIN;
  if (!existsSync(bin)) log.fail(`MEDIASOUP_WORKER_BIN=${bin} does not exist`);
  const problem = loadProblem(bin);
  if (problem) log.fail(`MEDIASOUP_WORKER_BIN=${bin} cannot start: ${problem}`);
  log.info(`using MEDIASOUP_WORKER_BIN=${bin} (it must be a mediasoup ${version} worker); nothing to build`);
  process.exit(0);
}

// A different patch or C library must never reuse an old binary.
const glibc = process.report?.getReport().header.glibcVersionRuntime ?? 'no-glibc';
const patchHashes = patchFiles.map((f) => sha256(readFileSync(f)));
const key = sha256([version, ...patchHashes, glibc, `${process.platform}-${process.arch}`].join('\n')).slice(0, 12);
const cached = join(cacheDir(), `mediasoup-worker-${version}-${key}`);
// Where mediasoup's node/lib/Worker.js looks when MEDIASOUP_WORKER_BIN is unset.
const target = join(msDir, 'worker', 'out', 'Release', 'mediasoup-worker');

if (existsSync(cached)) {
  const problem = loadProblem(cached);
  if (!problem) {
    install(cached);
    process.exit(0);
  }
  log.info(`cached worker ${cached} cannot start (${problem}); rebuilding`);
}
build();
install(cached);

function build() {
  ensureDebianPackages(buildPackages);
  const jobs = String(availableParallelism());
  const work = mkdtempSync(join(tmpdir(), `redred-mediasoup-${version}-`));
  const src = join(work, 'mediasoup');
  // Fixed names inside the work dir keep the build reproducible: meson refers
  // to sources relative to the build dir, so no random path reaches the binary.
  const buildDir = join(work, 'build');
  log.info(`building the mediasoup ${version} worker in ${work} with ${jobs} jobs (6-21 minutes on 2 cores, once)...`);
  const started = Date.now();

  // The registry tarball (npm ci already has it in npm's cache): pristine sources for the patch.
  const pack = runNpm(['pack', `mediasoup@${version}`, '--pack-destination', work, '--silent'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const tarball = pack.stdout?.trim().split('\n').pop();
  if (pack.status !== 0 || !tarball) log.fail(`npm pack mediasoup@${version} failed (exit ${pack.status})`);
  mkdirSync(src);
  run('tar', ['xzf', join(work, tarball), '-C', src, '--strip-components=1']);
  for (const file of patchFiles) {
    log.info(`applying ${relative(root, file)}`);
    run('patch', ['-p1', '--forward', '--silent', '--input', file], { cwd: src });
  }

  const worker = join(src, 'worker');
  const nice = ['nice', '-n', '19'];
  // nodownload: a subproject the patch missed is an error, never a download attempt.
  run(nice[0], [...nice.slice(1), 'meson', 'setup', buildDir, '--buildtype', 'release', '-Db_ndebug=true', '--wrap-mode=nodownload'], { cwd: worker });
  // 3.13+ generate FlatBuffers headers; 3.13-3.26 declare no dependency on
  // them, and 3.27's own tasks.py still builds this target first: so do we.
  if (existsSync(join(worker, 'fbs'))) run(nice[0], [...nice.slice(1), 'meson', 'compile', '-C', buildDir, 'flatbuffers-generator'], { cwd: worker });
  run(nice[0], [...nice.slice(1), 'ninja', '-C', buildDir, '-j', jobs, 'mediasoup-worker'], { cwd: worker });
  const built = join(buildDir, 'mediasoup-worker');
  const problem = loadProblem(built);
  if (problem) log.fail(`the built worker cannot start: ${problem}`);
  log.info(`built in ${((Date.now() - started) / 1000).toFixed(0)} s (wall); sha256 ${sha256(readFileSync(built)).slice(0, 16)}`);
  log.info(`it needs these Debian runtime packages on a deploy host: ${runtimePackages(built).join(' ')}`);

  mkdirSync(dirname(cached), { recursive: true });
  copyFileSync(built, `${cached}.tmp`);
  chmodSync(`${cached}.tmp`, 0o755);
  renameSync(`${cached}.tmp`, cached);
  log.info(`cached at ${cached}`);
  rmSync(work, { recursive: true, force: true });
}

function install(bin) {
  const want = readFileSync(bin);
  if (existsSync(target) && sha256(readFileSync(target)) === sha256(want)) {
    log.info(`worker ${version} in place (${relative(root, target)})`);
    return;
  }
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(bin, `${target}.tmp`);
  chmodSync(`${target}.tmp`, 0o755);
  renameSync(`${target}.tmp`, target);
  log.info(`copied ${bin} -> ${relative(root, target)}`);
}

/** The -dev packages the patch's system dependencies come from. */
function debianBuildPackages(patchText) {
  const pkgs = ['build-essential', 'patch', 'pkg-config', 'python3', 'meson', 'ninja-build',
    'libssl-dev', 'libuv1-dev', 'libsrtp2-dev', 'libabsl-dev'];
  // usrsctp: 3.9 to 3.19; nlohmann-json: the JSON channel before 3.13; FlatBuffers after.
  if (patchText.includes("dependency('usrsctp')")) pkgs.push('libusrsctp-dev');
  if (patchText.includes("dependency('nlohmann_json'")) pkgs.push('nlohmann-json3-dev');
  if (patchText.includes("dependency('flatbuffers'")) pkgs.push('libflatbuffers-dev', 'flatbuffers-compiler');
  return pkgs;
}

function ensureDebianPackages(pkgs) {
  const query = spawnSync('dpkg-query', ['-W', '-f=${Package} ${db:Status-Status}\\n', ...pkgs], { encoding: 'utf8' });
  if (query.error) {
    log.info(`no dpkg here: make sure the equivalents of these Debian packages are installed: ${pkgs.join(' ')}`);
    return;
  }
  const installed = new Set(query.stdout.split('\n').filter((l) => l.endsWith(' installed')).map((l) => l.split(' ')[0]));
  const missing = pkgs.filter((p) => !installed.has(p));
  if (missing.length === 0) return;
  const line = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) log.fail(`missing Debian build packages; run:\n  sudo apt-get update && sudo ${line}`);
  log.info(`installing Debian build packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Another apt run (a second setup, unattended upgrades) holds the lock for a while at most.
  const lock = ['-o', 'DPkg::Lock::Timeout=600'];
  run('apt-get', [...lock, 'update'], { env });
  run('apt-get', [...lock, ...line.split(' ').slice(1)], { env });
}

/**
 * Why the binary cannot start, or undefined. Without its parent's channel the
 * worker exits at once with its own message; a missing shared library (a
 * deploy host without the runtime packages) is the dynamic loader's instead.
 */
function loadProblem(bin) {
  const r = spawnSync(bin, [], { encoding: 'utf8', env: {}, timeout: 10_000 });
  if (r.error) return r.error.message;
  const loader = /error while loading shared libraries[^\n]*/.exec(r.stderr ?? '');
  return loader ? loader[0] : undefined;
}

/** Debian packages owning the shared libraries the binary links (ldd + dpkg -S). */
function runtimePackages(bin) {
  const sonames = [...spawnSync('ldd', [bin], { encoding: 'utf8' }).stdout.matchAll(/^\s*(\S+) => \//gm)].map((m) => m[1]);
  const owners = spawnSync('dpkg', ['-S', ...sonames.map((soname) => `*/${soname}`)], { encoding: 'utf8' }).stdout ?? '';
  return [...new Set(owners.split('\n').filter(Boolean).map((l) => l.split(':')[0]))].sort();
}

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...options });
  if (r.error || r.status !== 0) log.fail(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}); see the output above`);
}

function sha256(data) {
  return createHash('sha256').update(data).digest('hex');
}
