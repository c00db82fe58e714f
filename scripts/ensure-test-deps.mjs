#!/usr/bin/env node
// Runs before `npm test`: the suite drives Debian's Chromium and a real
// mediasoup worker, so both must be there; the cluster-mode tests start their
// own PostgreSQL and Redis. Installs what it can (as root), and says exactly
// what is missing otherwise.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasPostgres = () => existsSync('/usr/lib/postgresql') && readdirSync('/usr/lib/postgresql').some((v) => existsSync(`/usr/lib/postgresql/${v}/bin/initdb`));
const hasRedis = () => ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].some((p) => existsSync(p));

const missing = [
  ...(existsSync(CHROMIUM) ? [] : ['chromium']),
  ...(hasPostgres() ? [] : ['postgresql']),
  ...(hasRedis() ? [] : ['redis-server']),
];
if (missing.length > 0) {
  if (process.getuid?.() === 0) {
    console.log(`[test] missing: installing Debian's ${missing.join(', ')} (apt-get)...`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    for (const args of [['update'], ['install', '-y', '--no-install-recommends', ...missing]]) {
      const r = spawnSync('apt-get', args, { stdio: 'inherit', env });
      if (r.status !== 0) {
        console.error(`[test] apt-get ${args.join(' ')} failed: install them by hand (apt-get install -y ${missing.join(' ')})`);
        process.exit(1);
      }
    }
  } else if (missing.includes('chromium')) {
    console.error(`[test] ${CHROMIUM} not found: run "sudo apt-get install -y chromium" (browser tests use Debian's Chromium)`);
    process.exit(1);
  } else {
    // Outside CI these tests are skipped without the binaries; under CI they fail.
    console.log(`[test] ${missing.join(' and ')} not installed: their tests are skipped (sudo apt-get install -y ${missing.join(' ')})`);
  }
}
// The worker and the client build: `npm run setup` is idempotent and fast when done.
const r = spawnSync('npm', ['run', '--silent', 'setup'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
