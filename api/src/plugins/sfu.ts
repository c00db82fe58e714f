import fp from 'fastify-plugin';
import { WorkerPool } from '@redred/sfu';
import type { AppConfig } from '../config.ts';

declare module 'fastify' {
  interface FastifyInstance {
    sfu: { pool: WorkerPool };
  }
}

/** mediasoup workers for the whole process; closed after the rooms on shutdown. */
export const sfuPlugin = fp<{ config: AppConfig }>(
  async (app, { config }) => {
    const log = app.log.child({ module: 'sfu' });
    const pool = await WorkerPool.create({
      numWorkers: config.mediasoupWorkers,
      listenIp: config.rtcListenIp,
      announcedAddress: config.rtcAnnouncedAddress,
      rtcPort: config.rtcPort,
      rtcMinPort: config.rtcMinPort,
      rtcMaxPort: config.rtcMaxPort,
      maxConsumersPerRouter: config.maxConsumersPerRouter,
      // OBS and other WHIP encoders send H.264; browsers keep preferring VP8 (listed first).
      enableH264: true,
    }, { logger: log });
    pool.on('workerreplaced', (e) => log.error({ oldPid: e.oldPid, newPid: e.worker.pid }, 'mediasoup worker died and was replaced'));
    app.decorate('sfu', { pool });
    app.addHook('onClose', async () => {
      pool.close();
    });
  },
  { name: 'redred-sfu' },
);
