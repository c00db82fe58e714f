#!/usr/bin/env node
// Runs before `npm test`: the suite drives Debian's Chromium and a real
// mediasoup worker, so both must be there. Installs what it can (as root), and
// says exactly what is missing otherwise.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  if (process.getuid?.() === 0) {
    console.log('[test] Chromium missing: installing Debian\'s chromium (apt-get)...');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'chromium']]) {
      const r = spawnSync('apt-get', args, { stdio: 'inherit', env });
      if (r.status !== 0) {
        console.error(`[test] apt-get ${args.join(' ')} failed: install chromium by hand (apt-get install -y chromium)`);
        process.exit(1);
      }
    }
  } else {
    console.error(`[test] ${CHROMIUM} not found: run "sudo apt-get install -y chromium" (browser tests use Debian's Chromium)`);
    process.exit(1);
  }
}
// The worker and the client build: `npm run setup` is idempotent and fast when done.
const r = spawnSync('npm', ['run', '--silent', 'setup'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
