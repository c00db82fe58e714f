import fp from 'fastify-plugin';
import type { AppConfig } from '../config.ts';
import { InProcessRoomBus } from '../live/bus.ts';
import type { LiveContext } from '../live/context.ts';
import { RoomRegistry } from '../live/rooms.ts';
import { registerLiveWebSocket } from '../live/websocket.ts';
import { WebhookSender } from '../webhooks/sender.ts';

declare module 'fastify' {
  interface FastifyInstance {
    rooms: RoomRegistry;
    liveContext: LiveContext;
  }
}

/** The stream WebSockets and their rooms. */
export const livePlugin = fp<{ config: AppConfig; now: () => number }>(
  async (app, opts) => {
    const log = app.log.child({ module: 'live' });
    const bus = new InProcessRoomBus((err, envelope) => log.error({ err, streamId: envelope.streamId, kind: envelope.event.kind }, 'room event handler failed'));
    if (opts.config.redisUrl) {
      // RedisRoomBus passes the bus contract, but rooms still count on synchronous delivery
      // (history then live comments, end then close): until they do not, a node runs alone.
      log.warn('REDIS_URL is set, but rooms do not use the Redis room bus yet: this node serves its own sockets only (docs/scaling.md)');
    }
    const webhooks = new WebhookSender({ urls: opts.config.webhookUrls, secret: opts.config.webhookSecret ?? '', backoffMs: opts.config.webhookBackoffMs, log: app.log.child({ module: 'webhooks' }), now: opts.now });
    const ctx: LiveContext = { db: app.db, now: opts.now, log, pool: app.sfu.pool, config: opts.config, bus, site: app.siteGate, webhooks };
    const rooms = new RoomRegistry(ctx);
    app.decorate('rooms', rooms);
    app.decorate('liveContext', ctx);
    registerLiveWebSocket(app, ctx, rooms);
    app.addHook('onClose', async () => {
      // Rooms first (whichever onClose hook runs first does it): their last events still reach the bus.
      await rooms.closeAll();
      bus.close();
      webhooks.close();
    });
  },
  { name: 'redred-live', dependencies: ['redred-db', 'redred-site', 'redred-sfu', '@fastify/websocket'] },
);
