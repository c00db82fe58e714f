// The project runs on Node 24 LTS (22 works too). A machine whose node is
// older — Debian bookworm images ship Node 20, past its end of life — gets
// Node 24 from the npm registry: the `node-<platform>-<arch>` package carries
// the official binary and its C headers. It is unpacked once into the cache and
// linked as node_modules/.bin/node, which npm puts first on PATH for every
// script it runs (`npm start`, `npm test`, `npm run ...`, `npx`, workspace
// scripts too), so nothing else has to know. `npm ci` removes the link with
// node_modules; the next `npm run setup` puts it back.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readlinkSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { delimiter, dirname, join, resolve, sep } from 'node:path';
import { cacheDir, runNpm } from './setup-env.mjs';

/** Pinned so every machine runs the same binary; bump with the next 24.x. */
export const RUNTIME_NODE_VERSION = '24.22.3';
/** better-sqlite3 12, mediasoup 3.27 (which needs 22+) and our code all run on 22 and 24. */
const OLDEST_MAJOR = 22;

/**
 * Decides which node the project runs on and makes npm scripts use it.
 * Returns { node, nodedir }: nodedir (the headers for native addons) is set
 * only for the node we fetched; a system node keeps npm's own setting.
 */
export function ensureNodeRuntime(root, log) {
  const link = join(root, 'node_modules', '.bin', 'node');
  const system = systemNode(root);
  const systemMajor = system ? Number(system.version.split('.')[0]) : 0;

  if (systemMajor >= OLDEST_MAJOR) {
    if (isLink(link)) {
      rmSync(link);
      log.info(`Node ${system.version} (${system.path}) is recent enough: removed the fetched Node's link`);
    } else {
      log.info(`runtime: the machine's Node ${system.version} (${system.path})`);
    }
    return { node: system.path, nodedir: undefined };
  }

  const name = `node-${process.platform}-${process.arch}`;
  const home = join(cacheDir(), `node-v${RUNTIME_NODE_VERSION}-${process.platform}-${process.arch}`);
  const node = join(home, 'bin', 'node');
  const found = system ? `Node ${system.version} at ${system.path}` : 'no node on PATH';
  if (!existsSync(node)) {
    log.info(`${found} is older than ${OLDEST_MAJOR}: fetching Node ${RUNTIME_NODE_VERSION} from the npm registry (${name})...`);
    fetchNode(name, home, log);
  }
  const version = nodeVersion(node);
  if (version !== RUNTIME_NODE_VERSION) log.fail(`${node} reports ${version ?? 'nothing'}; remove ${home} and run setup again`);

  if (!isLink(link) || readlinkSync(link) !== node) {
    mkdirSync(dirname(link), { recursive: true });
    rmSync(link, { force: true });
    symlinkSync(node, link);
    log.info(`${found} is too old: linked Node ${RUNTIME_NODE_VERSION} (${home}) as node_modules/.bin/node; npm start, npm test and every npm run script use it`);
  } else {
    log.info(`runtime: Node ${RUNTIME_NODE_VERSION} from ${home} (node_modules/.bin/node)`);
  }
  return { node, nodedir: home };
}

function fetchNode(name, home, log) {
  const started = Date.now();
  mkdirSync(dirname(home), { recursive: true });
  const work = mkdtempSync(`${home}.tmp-`);
  try {
    const pack = runNpm(['pack', `${name}@${RUNTIME_NODE_VERSION}`, '--pack-destination', work, '--silent'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const tarball = pack.stdout?.trim().split('\n').pop();
    if (pack.status !== 0 || !tarball) log.fail(`npm pack ${name}@${RUNTIME_NODE_VERSION} failed (exit ${pack.status})`);
    const unpacked = join(work, 'node');
    mkdirSync(unpacked);
    const tar = spawnSync('tar', ['xzf', join(work, tarball), '-C', unpacked, '--strip-components=1'], { stdio: 'inherit' });
    if (tar.status !== 0) log.fail(`could not unpack ${tarball}`);
    // Renamed into place last: an interrupted fetch never looks like a cached one.
    renameSync(unpacked, home);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  log.info(`Node ${RUNTIME_NODE_VERSION} unpacked in ${home} (${((Date.now() - started) / 1000).toFixed(1)} s, once)`);
}

/** The first node on PATH that is not one of node_modules/.bin's links. */
function systemNode(root) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir || resolve(root, dir).split(sep).includes('node_modules')) continue;
    const path = join(dir, 'node');
    const version = existsSync(path) ? nodeVersion(path) : undefined;
    if (version) return { path, version };
  }
  return undefined;
}

function nodeVersion(path) {
  const r = spawnSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function isLink(path) {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
