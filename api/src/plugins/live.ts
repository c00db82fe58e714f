import fp from 'fastify-plugin';
import type { AppConfig } from '../config.ts';
import type { LiveContext } from '../live/context.ts';
import { RoomRegistry } from '../live/rooms.ts';
import { registerLiveWebSocket } from '../live/websocket.ts';

declare module 'fastify' {
  interface FastifyInstance {
    rooms: RoomRegistry;
    liveContext: LiveContext;
  }
}

/** The stream WebSockets and their rooms. */
export const livePlugin = fp<{ config: AppConfig; now: () => number }>(
  async (app, opts) => {
    const ctx: LiveContext = { db: app.db, now: opts.now, log: app.log.child({ module: 'live' }), pool: app.sfu.pool, config: opts.config };
    const rooms = new RoomRegistry(ctx);
    app.decorate('rooms', rooms);
    app.decorate('liveContext', ctx);
    registerLiveWebSocket(app, ctx, rooms);
  },
  { name: 'redred-live', dependencies: ['redred-db', 'redred-sfu', '@fastify/websocket'] },
);
