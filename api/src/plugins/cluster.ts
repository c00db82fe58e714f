import { networkInterfaces } from 'node:os';
import fp from 'fastify-plugin';
import { ClusterNode } from '../cluster/node.ts';
import { isClusterMode, type AppConfig } from '../config.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** This process as a node of a cluster; null for a lone node (the embedded default). */
    cluster: ClusterNode | null;
  }
}

/** A host other nodes can reach when the server listens on every interface. */
function reachableHost(host: string): string {
  if (host !== '0.0.0.0' && host !== '::') return host.includes(':') ? `[${host}]` : host;
  for (const addresses of Object.values(networkInterfaces())) {
    const v4 = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (v4) return v4.address;
  }
  return '127.0.0.1';
}

/**
 * Cluster mode (DATABASE_URL and REDIS_URL): connects to Redis (a node that
 * cannot reach it does not start), registers the node once it listens, and
 * leaves the registry last on shutdown, after the rooms closed.
 */
export const clusterPlugin = fp<{ config: AppConfig; now: () => number }>(
  async (app, { config, now }) => {
    if (!isClusterMode(config) || !config.redisUrl) {
      app.decorate('cluster', null);
      return;
    }
    const log = app.log.child({ module: 'cluster' });
    const node = await ClusterNode.connect({
      url: config.redisUrl,
      name: config.cluster.name,
      nodeId: config.cluster.nodeId,
      heartbeatMs: config.cluster.heartbeatMs,
      nodeTtlMs: config.cluster.nodeTtlMs,
      log,
      now,
    });
    app.decorate('cluster', node);
    app.addHook('onListen', async () => {
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      const internalUrl = config.cluster.internalUrl ?? `http://${reachableHost(config.host)}:${port}`;
      const mediaAddress = config.cluster.mediaAddress ?? config.rtcAnnouncedAddress ?? config.rtcListenIp;
      await node.start({ internalUrl, mediaAddress }, () => {
        const rooms = app.rooms.all().filter((r) => !r.closed);
        return {
          rooms: rooms.length,
          connections: rooms.reduce((n, r) => n + r.connectionCount, 0),
          viewers: rooms.reduce((n, r) => n + r.viewers.count, 0),
          consumers: app.sfu.pool.workers.reduce((n, w) => n + app.sfu.pool.load(w).consumers, 0),
        };
      });
    });
    app.addHook('onClose', async () => {
      await node.close();
    });
  },
  { name: 'redred-cluster', dependencies: ['redred-db', 'redred-sfu'] },
);
