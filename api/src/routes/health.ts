import type { FastifyInstance } from 'fastify';
import { pingDatabase } from '@redred/db';

/**
 * `GET /health`: 200 when this node can serve (database, media workers and,
 * in cluster mode, Redis: the room bus and the node registry), 503 naming what
 * is missing. A load balancer takes a 503 node out of rotation.
 */
export async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get('/health', async (_request, reply) => {
    const db = await pingDatabase(app.db);
    const workers = app.sfu.pool.workers.length;
    const bus = app.liveContext.bus.healthy;
    const cluster = app.cluster ? { node: app.cluster.id, redis: app.cluster.healthy } : null;
    const ok = db && workers > 0 && bus && (cluster?.redis ?? true);
    reply.code(ok ? 200 : 503);
    return { status: ok ? 'ok' : 'degraded', db, workers, bus, ...(cluster ? { cluster } : {}) };
  });
}
