import fp from 'fastify-plugin';
import type { AppConfig } from '../config.ts';
import { InProcessRoomBus, type BusHandlerErrorReporter, type RoomBus } from '../live/bus.ts';
import { RedisRoomBus } from '../live/redis-bus.ts';
import { OriginMap } from '../cluster/origin-map.ts';
import type { LiveContext } from '../live/context.ts';
import { RoomReconciler } from '../live/reconcile.ts';
import { CLOSE_CODES } from '../protocol/constants.ts';
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
    const onHandlerError: BusHandlerErrorReporter = (err, delivery) =>
      'event' in delivery ? log.error({ err, streamId: delivery.streamId, kind: delivery.event.kind }, 'room event handler failed') : log.error({ err, kind: delivery.kind }, 'site event handler failed');
    // Set once the registry exists: rooms that missed bus events re-check what is durable.
    let reconciler: RoomReconciler | undefined;
    const cluster = app.cluster;
    let bus: RoomBus;
    if (cluster && opts.config.redisUrl) {
      bus = await RedisRoomBus.connect({
        url: opts.config.redisUrl,
        namespace: opts.config.cluster.name,
        onHandlerError,
        onError: (err) => {
          log.warn({ code: err.code, ...err.details, err: err.cause ?? undefined }, err.message);
          // A gap, a sequence that went back (Redis lost its data) or this node's own event not sent: what they carried is in the database.
          const lost = err.code === 'bus_gap' || err.code === 'bus_sequence_reset' || err.code === 'bus_publish_failed';
          if (lost && err.details.streamId !== undefined) void reconciler?.stream(err.details.streamId, err.code);
        },
        onResumed: () => void reconciler?.all('bus_resumed'),
        onHealthChange: (healthy) => (healthy ? log.info('room bus: Redis reachable again') : log.error('room bus: Redis unreachable; room events are not delivered until it is back')),
      });
    } else {
      bus = new InProcessRoomBus(onHandlerError);
      if (opts.config.redisUrl) log.warn('REDIS_URL is set without DATABASE_URL: cluster mode needs both; this node runs alone on the in-process room bus (docs/scaling.md)');
    }
    const origins = cluster ? new OriginMap(cluster, opts.now) : null;
    const webhooks = new WebhookSender({ urls: opts.config.webhookUrls, secret: opts.config.webhookSecret ?? '', backoffMs: opts.config.webhookBackoffMs, log: app.log.child({ module: 'webhooks' }), now: opts.now });
    const ctx: LiveContext = { db: app.db, now: opts.now, log, pool: app.sfu.pool, config: opts.config, bus, cluster, origins, site: app.siteGate, webhooks };
    const rooms = new RoomRegistry(ctx);
    reconciler = new RoomReconciler(ctx, rooms);
    // An account's sessions ended on any node: its sockets on this one close too.
    bus.subscribeSite((event) => rooms.disconnectUser(event.userId, CLOSE_CODES.signedOut, event.reason));
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
  { name: 'redred-live', dependencies: ['redred-db', 'redred-site', 'redred-sfu', 'redred-cluster', '@fastify/websocket'] },
);
