import type { FastifyInstance } from 'fastify';
import { pingDatabase } from '@redred/db';

export async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get('/health', async (_request, reply) => {
    const db = await pingDatabase(app.db);
    const workers = app.sfu.pool.workers.length;
    const ok = db && workers > 0;
    reply.code(ok ? 200 : 503);
    return { status: ok ? 'ok' : 'degraded', db, workers };
  });
}
