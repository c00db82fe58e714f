import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import fp from 'fastify-plugin';
import { systemTimer } from '@redred/sfu';
import type { AppConfig } from '../config.ts';
import { RecordingService } from '../recording/service.ts';

declare module 'fastify' {
  interface FastifyInstance {
    recordings: RecordingService;
  }
}

/** Stream recording: the service, startup recovery, and its sweep on the sweeper's interval (docs/recording.md). */
export const recordingPlugin = fp<{ config: AppConfig; now: () => number }>(
  async (app, { config, now }) => {
    const recordingsDir = join(config.dataDir, 'recordings');
    await mkdir(recordingsDir, { recursive: true });
    const rc = config.recording;
    const service = new RecordingService(
      {
        db: app.db,
        log: app.log.child({ module: 'recording' }),
        now,
        timer: systemTimer,
        ffmpegPath: rc.ffmpegPath,
        ffprobePath: rc.ffprobePath,
        recordingsDir,
        segmentSeconds: rc.segmentSeconds,
        minFreeBytes: rc.minFreeMb * 1024 * 1024,
        metrics: { runsStarted: 0, recorderDeaths: 0, finalized: 0, pruned: 0 },
      },
      { retentionDays: rc.retentionDays, maxBytes: rc.maxGb * 1024 ** 3 },
    );
    app.decorate('recordings', service);
    app.liveContext.recordings = service;
    let cancel = (): void => {};
    let sweeping: Promise<unknown> = Promise.resolve();
    const tick = () => {
      sweeping = service.sweep().catch((err: unknown) => app.log.error({ module: 'recording', err }, 'recording sweep failed'));
      cancel = systemTimer.schedule(() => void sweeping.then(tick), config.sweeper.intervalMs);
    };
    app.addHook('onReady', async () => {
      await service.recoverAtStartup();
      tick();
    });
    app.addHook('preClose', async () => {
      cancel();
      await sweeping;
      await service.close();
    });
  },
  { name: 'redred-recording', dependencies: ['redred-db', 'redred-live'] },
);
