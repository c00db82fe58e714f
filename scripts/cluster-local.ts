// A throwaway cluster on this machine (not a test, not for production): a
// PostgreSQL and a Redis in temp dirs, N node processes, and nginx in front
// (deploy/nginx-cluster.conf). For trying cluster mode and for `npm run load`
// through a front:
//
//   node --import tsx scripts/cluster-local.ts --nodes 2
//   npm run load -- --url <front> --nodes <node>,<node> …
//
// Ctrl-C stops everything and removes the temp dirs.
import { parseArgs } from 'node:util';
import { startPostgres } from '../db/src/testing/postgres.ts';
import { startNodeProcess, TEST_METRICS_TOKEN, type ClusterNodeProcess } from '../api/src/testing/cluster.ts';
import { startClusterFront } from '../api/src/testing/deploy-servers.ts';
import { startRedis } from '../api/src/testing/redis.ts';

const { values } = parseArgs({ options: { nodes: { type: 'string', default: '3' } } });
const count = Number(values.nodes);
if (!Number.isInteger(count) || count < 1 || count > 3) throw new Error('--nodes is 1, 2 or 3 (the front lists three servers)');

const [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
const databaseUrl = postgres.url(await postgres.createDatabase());
const nodes: ClusterNodeProcess[] = [];
for (let i = 0; i < count; i++) nodes.push(await startNodeProcess({ redis, postgres }, databaseUrl, `local${process.pid}`, i, { CLUSTER_HEARTBEAT_MS: '1000', CLUSTER_NODE_TTL_MS: '5000' }));
// The front lists three servers: with fewer nodes, the spare lines repeat the last node.
const ports = [0, 1, 2].map((i) => nodes[Math.min(i, count - 1)]!.port) as [number, number, number];
const front = await startClusterFront(ports);

console.log(`front  ${front.url}`);
for (const n of nodes) console.log(`${n.id} ${n.url}`);
console.log(`\nMETRICS_TOKEN='${TEST_METRICS_TOKEN}' npm run load -- --url ${front.url} --nodes ${nodes.map((n) => n.url).join(',')} …\nCtrl-C stops the cluster.`);

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
