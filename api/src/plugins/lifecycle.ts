import fp from 'fastify-plugin';
import type { AppConfig } from '../config.ts';
import { RestartRecovery } from '../live/recovery.ts';
import { StreamSweeper } from '../live/sweeper.ts';

declare module 'fastify' {
  interface FastifyInstance {
    sweeper: StreamSweeper;
    restartRecovery: RestartRecovery;
  }
}

/**
 * The stream lifecycle in the background: crash recovery when the server is
 * ready, then the sweeper's ticks; both stop before the rooms and the database close.
 */
export const lifecyclePlugin = fp<{ config: AppConfig }>(
  async (app, { config }) => {
    const ctx = app.liveContext;
    const sweeper = new StreamSweeper({ ctx, rooms: app.rooms, rules: config.sweeper, log: app.log.child({ module: 'sweeper' }) });
    const recovery = new RestartRecovery({ ctx, rooms: app.rooms, graceMs: config.sweeper.restartGraceMs, log: app.log.child({ module: 'recovery' }) });
    app.decorate('sweeper', sweeper);
    app.decorate('restartRecovery', recovery);

    app.addHook('onReady', async () => {
      // A node joining a cluster did not cut anyone off: the streams live now are carried
      // by the others (a dead origin is the origin watch's business, not a restart's).
      if (!ctx.cluster) await recovery.begin();
      sweeper.start({ sweepIntervalMs: config.sweeper.intervalMs, roomSyncIntervalMs: config.sweeper.roomSyncIntervalMs });
    });
    app.addHook('preClose', async () => {
      recovery.stop();
      await sweeper.stop();
    });
  },
  { name: 'redred-lifecycle', dependencies: ['redred-live'] },
);
