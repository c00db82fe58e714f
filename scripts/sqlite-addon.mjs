// better-sqlite3 compiles a native addon for one Node ABI. `npm ci` builds it
// for the node that ran npm, which may not be the runtime (node-runtime.mjs),
// so setup rebuilds it for the runtime — offline, against the runtime's own
// headers — and caches the result: the compile takes one to two minutes on
// two cores, and every `npm ci` would otherwise pay it again.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cacheDir, runNpm } from './setup-env.mjs';

const LOAD_CHECK = "new (require('better-sqlite3'))(':memory:').close()";

/** Makes better-sqlite3 load on runtime.node; `env` carries the runtime's PATH and nodedir. */
export function ensureSqliteAddon(root, runtime, env, log) {
  const loads = () => spawnSync(runtime.node, ['-e', LOAD_CHECK], { cwd: join(root, 'db'), encoding: 'utf8' });
  if (loads().status === 0) return;

  const pkgDir = join(root, 'node_modules', 'better-sqlite3');
  const addon = join(pkgDir, 'build', 'Release', 'better_sqlite3.node');
  const { version } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  const abi = spawnSync(
    runtime.node,
    ['-p', "[process.versions.modules, process.platform, process.arch, process.report.getReport().header.glibcVersionRuntime ?? 'no-glibc'].join('-')"],
    { encoding: 'utf8' },
  ).stdout.trim();
  const cached = join(cacheDir(), `better-sqlite3-${version}-node${abi}.node`);

  if (existsSync(cached)) {
    copyInto(cached, addon);
    if (loads().status === 0) {
      log.info(`better-sqlite3 ${version}: addon for Node ABI ${abi} copied from ${cached}`);
      return;
    }
    log.info(`cached ${cached} does not load; rebuilding`);
  }

  const started = Date.now();
  log.info(`better-sqlite3 ${version}: compiling the addon for ${runtime.node} (once; 1-2 minutes)...`);
  const r = runNpm(['rebuild', 'better-sqlite3'], { node: runtime.node, cwd: root, env, stdio: 'inherit' });
  if (r.status !== 0) log.fail(`npm rebuild better-sqlite3 failed (exit ${r.status ?? r.error?.message})`);
  const check = loads();
  if (check.status !== 0) log.fail(`better-sqlite3 still does not load on ${runtime.node}:\n${check.stderr}`);
  copyInto(addon, cached);
  log.info(`better-sqlite3 built in ${((Date.now() - started) / 1000).toFixed(0)} s; cached at ${cached}`);
}

function copyInto(from, to) {
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, `${to}.tmp`);
  chmodSync(`${to}.tmp`, 0o755);
  renameSync(`${to}.tmp`, to);
}
