import { randomBytes } from 'node:crypto';
import { findPostgresBin, inCI, startPostgres, type TestPostgres } from '@redred/db/testing';
import { afterAll, beforeAll, describe } from 'vitest';
import { defaultConfig, type AppConfig, type ClusterConfig } from '../config.ts';
import { skipWithout } from './owned-process.ts';
import { startServerProcess, type ServerProcess } from './process.ts';
import { startRedis, type TestRedis } from './redis.ts';
import { startTestServer, type TestServer } from './server.ts';

/** Shared by every test node; cluster mode refuses less than 16 characters. */
export const TEST_CLUSTER_SECRET = 'test cluster secret, not for production';
/** /metrics is closed without a token: test nodes get this one, and harnesses scrape with it. */
export const TEST_METRICS_TOKEN = 'test metrics token, not for production';

export interface TestCluster {
  /** The nodes, named node-a, node-b, … in the registry. */
  nodes: TestServer[];
  /** The database every node shares. */
  databaseUrl: string;
  /** Prefix of this cluster's Redis keys and channels (clusters in one Redis never meet). */
  name: string;
  /** Settings to start one more node of this cluster with. */
  nodeConfig(index: number): Partial<AppConfig>;
  close(): Promise<void>;
}

export interface ClusterServices {
  redis: TestRedis;
  postgres: TestPostgres;
}

/**
 * `count` real nodes in this process (each its own Fastify app, mediasoup
 * worker and Redis connections) on one new PostgreSQL database and a fresh
 * namespace of the shared Redis. Heartbeats are fast so that presence and
 * node deaths show within a second.
 */
export type ClusterOverrides = Partial<Omit<AppConfig, 'cluster'>> & { cluster?: Partial<ClusterConfig> };

export async function startCluster(services: ClusterServices, count: number, overrides: ClusterOverrides = {}, opts: { now?: () => number } = {}): Promise<TestCluster> {
  const databaseUrl = services.postgres.url(await services.postgres.createDatabase());
  const name = `t${randomBytes(4).toString('hex')}`;
  const nodeConfig = (index: number): Partial<AppConfig> => ({
    databaseUrl,
    redisUrl: services.redis.url,
    wsMessagesPerSecond: 10_000,
    wsMessageBurst: 10_000,
    ...overrides,
    cluster: {
      ...defaultConfig().cluster,
      secret: TEST_CLUSTER_SECRET,
      name,
      nodeId: `node-${String.fromCharCode(97 + index)}`,
      heartbeatMs: 200,
      nodeTtlMs: 1000,
      ...overrides.cluster,
    },
  });
  const nodes: TestServer[] = [];
  try {
    // One after the other: the first migrates the database, the others find it done.
    for (let i = 0; i < count; i++) nodes.push(await startTestServer(nodeConfig(i), opts));
  } catch (err) {
    await Promise.all(nodes.map((n) => n.close()));
    throw err;
  }
  return {
    nodes,
    databaseUrl,
    name,
    nodeConfig,
    async close() {
      await Promise.all(nodes.map((n) => n.close()));
    },
  };
}

/**
 * `describe(name)` with a Redis and a PostgreSQL started before its tests and
 * stopped after. Skipped without redis-server or PostgreSQL, except under CI,
 * where starting fails and so do the tests.
 */
export function describeCluster(name: string, body: (services: () => ClusterServices) => void): void {
  const missing = skipWithout('redis-server') || (findPostgresBin() === undefined && !inCI());
  describe.skipIf(missing)(name, () => {
    let services: ClusterServices | undefined;
    beforeAll(async () => {
      const [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
      services = { redis, postgres };
    });
    afterAll(async () => {
      await Promise.all([services?.redis.stop(), services?.postgres.stop()]);
    });
    body(() => {
      if (!services) throw new Error('the cluster services are used outside their describe block');
      return services;
    });
  });
}

export interface ClusterNodeProcess {
  /** node-a, node-b, … */
  id: string;
  url: string;
  port: number;
  wsUrl(streamId: number): string;
  process: ServerProcess;
}

/**
 * One node of a cluster as its own process (the real server entry), so a test
 * can kill -9 it: its own RTC port range, fast heartbeats, the shared
 * database, Redis namespace and secret.
 */
export async function startNodeProcess(services: ClusterServices, databaseUrl: string, name: string, index: number, env: Record<string, string> = {}): Promise<ClusterNodeProcess> {
  const id = `node-${String.fromCharCode(97 + index)}`;
  const rtcMinPort = 44_000 + index * 200;
  const process = await startServerProcess({
    DATABASE_URL: databaseUrl,
    REDIS_URL: services.redis.url,
    CLUSTER_SECRET: TEST_CLUSTER_SECRET,
    METRICS_TOKEN: TEST_METRICS_TOKEN,
    CLUSTER_NAME: name,
    NODE_ID: id,
    CLUSTER_HEARTBEAT_MS: '250',
    CLUSTER_NODE_TTL_MS: '1500',
    RTC_MIN_PORT: String(rtcMinPort),
    RTC_MAX_PORT: String(rtcMinPort + 199),
    ...env,
  });
  const port = Number(new URL(process.url).port);
  return { id, url: process.url, port, wsUrl: (streamId) => `ws://127.0.0.1:${port}/ws/live/${streamId}`, process };
}
