import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
export const clientDir = join(root, 'client');
export const distDir = join(clientDir, 'dist');

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** `npm test` builds the client in its pretest; a direct `vitest run` of a client browser test may find it stale. */
export function ensureClientBuilt(): void {
  const index = join(distDir, 'index.html');
  const sources = Math.max(
    newestMtime(join(clientDir, 'src')),
    newestMtime(join(clientDir, 'public')),
    statSync(join(clientDir, 'index.html')).mtimeMs,
    newestMtime(join(root, 'api', 'src', 'protocol')),
  );
  if (existsSync(index) && statSync(index).mtimeMs > sources) return;
  // vitest sets NODE_ENV=test, which would make Vite bundle Preact's development build.
  const r = spawnSync('npm', ['run', '--silent', 'build', '-w', '@redred/client'], { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
  if (r.status !== 0) throw new Error('client build failed');
}
