import fp from 'fastify-plugin';
import type { AppConfig } from '../config.ts';
import { OrphanSweep } from '../cluster/orphans.ts';
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

    // Cluster mode: a node joining did not cut anyone off (the streams live now are carried by the
    // others); a stream whose origin is gone gets the grace period wherever it is noticed.
    const orphans =
      ctx.cluster && ctx.origins
        ? new OrphanSweep({ ctx, rooms: app.rooms, node: ctx.cluster, origins: ctx.origins, graceMs: config.sweeper.restartGraceMs, log: app.log.child({ module: 'orphans' }) })
        : null;
    let orphanTimer: NodeJS.Timeout | null = null;
    let orphanRun: Promise<unknown> = Promise.resolve();
    app.addHook('onReady', async () => {
      if (!orphans) await recovery.begin();
      sweeper.start({ sweepIntervalMs: config.sweeper.intervalMs, roomSyncIntervalMs: config.sweeper.roomSyncIntervalMs });
      if (orphans) {
        orphanTimer = setInterval(() => {
          orphanRun = orphans.run().catch((err: unknown) => app.log.warn({ err }, 'orphaned-stream sweep failed'));
        }, config.sweeper.intervalMs);
        orphanTimer.unref();
      }
    });
    app.addHook('preClose', async () => {
      recovery.stop();
      if (orphanTimer) clearInterval(orphanTimer);
      await orphanRun;
      await sweeper.stop();
    });
  },
  { name: 'redred-lifecycle', dependencies: ['redred-live'] },
);
