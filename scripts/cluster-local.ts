// A throwaway cluster on this machine (not a test, not for production): a
// PostgreSQL and a Redis in temp dirs, N node processes, and nginx in front
// (deploy/nginx-cluster.conf), all on 127.0.0.1. For trying cluster mode and
// for `npm run load` through a front (docs/scaling.md, "Measuring"):
//
//   npm run cluster:local -- --nodes 2 [--workers 1] [--rtc-port 44000]
//
// It prints the front, the nodes and the `npm run load` lines to run from
// another shell. Ctrl-C (or SIGTERM) stops everything and removes the temp dirs.
import { parseArgs } from 'node:util';
import { startPostgres } from '../db/src/testing/postgres.ts';
import { startNodeProcess, TEST_METRICS_TOKEN, type ClusterNodeProcess } from '../api/src/testing/cluster.ts';
import { startClusterFront } from '../api/src/testing/deploy-servers.ts';
import { startRedis } from '../api/src/testing/redis.ts';

/** Each node gets this many RTC ports (UDP + TCP) from `--rtc-port` on: node i from rtc-port + i × RTC_PORTS_PER_NODE. */
const RTC_PORTS_PER_NODE = 200;

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '2' },
    workers: { type: 'string', default: '1' },
    'rtc-port': { type: 'string', default: '44000' },
  },
});
const count = Number(values.nodes);
const workers = Number(values.workers);
const rtcPort = Number(values['rtc-port']);
if (!Number.isInteger(count) || count < 1 || count > 8) throw new Error('--nodes is 1 to 8');
if (!Number.isInteger(workers) || workers < 1) throw new Error('--workers is the mediasoup workers of each node, at least 1');
if (!Number.isInteger(rtcPort) || rtcPort < 1024 || rtcPort + count * RTC_PORTS_PER_NODE > 65_535) throw new Error('--rtc-port: the first RTC port of node A, 1024–65535');

const [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
const databaseUrl = postgres.url(await postgres.createDatabase());
const nodes: ClusterNodeProcess[] = [];
for (let i = 0; i < count; i++) {
  const min = rtcPort + i * RTC_PORTS_PER_NODE;
  nodes.push(
    await startNodeProcess({ redis, postgres }, databaseUrl, `local${process.pid}`, i, {
      CLUSTER_HEARTBEAT_MS: '1000',
      CLUSTER_NODE_TTL_MS: '5000',
      MEDIASOUP_WORKERS: String(workers),
      RTC_MIN_PORT: String(min),
      RTC_MAX_PORT: String(min + RTC_PORTS_PER_NODE - 1),
    }),
  );
}
const front = await startClusterFront(nodes.map((n) => n.port));

const load = `METRICS_TOKEN='${TEST_METRICS_TOKEN}' npm run load -- --url ${front.url} --nodes ${nodes.map((n) => n.url).join(',')}`;
console.log(`front   ${front.url}`);
for (const n of nodes) console.log(`${n.id}  ${n.url}  (${workers} mediasoup worker${workers > 1 ? 's' : ''})`);
console.log(`
From another shell, in the repository root:
  chat:    ${load} --no-streamer --viewers 0 --chatters 300 --rate 60 --duration 20
  viewers: ${load} --viewers 200 --duration 40
  capacity:${load} --capacity --start 100 --step 50 --max 600
Ctrl-C stops the cluster.`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await front.close();
  await Promise.all(nodes.map((n) => n.process.stop()));
  await Promise.all([redis.stop(), postgres.stop()]);
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
