import fp from 'fastify-plugin';
import { iceServersFor } from '../auth/turn-credentials.ts';
import type { AppConfig } from '../config.ts';
import { probeRoutes } from '../routes/probe.ts';
import { streamKeyRoutes } from '../routes/stream-key.ts';
import { whipRoutes } from '../whip/routes.ts';
import { MediaSessions } from '../whip/sessions.ts';
import { StreamKeyAuth } from '../whip/stream-keys.ts';

declare module 'fastify' {
  interface FastifyInstance {
    whip: { sessions: MediaSessions; keys: StreamKeyAuth };
  }
}

/**
 * Publishing from encoders (WHIP, with stream keys) and playback by standard
 * players (WHEP). Sessions close before the rooms on shutdown: this plugin is
 * registered after them, and Fastify closes in reverse order.
 */
export const whipPlugin = fp<{ config: AppConfig; now: () => number }>(
  async (app, { config, now }) => {
    const keys = new StreamKeyAuth(app.db, now);
    const sessions = new MediaSessions(app.liveContext, app.rooms, keys);
    app.decorate('whip', { sessions, keys });
    app.addHook('onClose', async () => {
      sessions.close();
      keys.close();
    });
    await app.register(whipRoutes, { sessions, keys, now, iceServers: (userId) => iceServersFor(config.turn, userId, now()) });
    await app.register(streamKeyRoutes, { sessions, now, publicUrl: config.publicUrl });
    // The studio's uplink probe, for the upload budget of both the browser studio and OBS.
    await app.register(probeRoutes, { now });
  },
  { name: 'redred-whip', dependencies: ['redred-live', 'redred-db'] },
);
