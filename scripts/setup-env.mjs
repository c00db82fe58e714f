// Shared by the setup scripts: where the machine-wide cache lives and how to
// call the npm that launched us.
import { spawnSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** ~/.cache/redred (XDG_CACHE_HOME honoured); REDRED_CACHE_DIR overrides. */
export function cacheDir() {
  return process.env.REDRED_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'redred');
}

/**
 * Runs npm. Under `npm run`, npm_execpath is npm's own CLI script: running it
 * with an explicit node avoids depending on which node its shebang would find.
 */
export function runNpm(args, { node = process.execPath, ...options } = {}) {
  const cli = process.env.npm_execpath;
  return cli && cli.endsWith('.js')
    ? spawnSync(node, [cli, ...args], options)
    : spawnSync('npm', args, options);
}

export function makeLog(tag) {
  return {
    info: (msg) => console.log(`[${tag}] ${msg}`),
    fail: (msg) => {
      console.error(`[${tag}] ERROR: ${msg}`);
      process.exit(1);
    },
  };
}
