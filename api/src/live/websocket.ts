import type { FastifyInstance, FastifyRequest } from 'fastify';
import { activeRestrictionUntil, isBanned } from '@redred/db';
import { AppError } from '../errors.ts';
import { CLOSE_CODES, type Role } from '../protocol/constants.ts';
import { isOriginAllowed } from '../security/origin.ts';
import { LiveConnection } from './connection.ts';
import type { LiveContext } from './context.ts';
import { handleFrame } from './dispatcher.ts';
import type { RoomRegistry } from './rooms.ts';
import type { StreamRoom } from './room.ts';
import { chatSettingsFor, sendChatHistory } from './chat.ts';
import { resolveRole as resolveChannelRole } from './policy.ts';

type Admission = { ok: true; room: StreamRoom; role: Role } | { ok: false; error: AppError; closeCode: number };

declare module 'fastify' {
  interface FastifyRequest {
    liveAdmission?: Admission;
  }
}

/** Who this user is on this channel. The client never says. */
export async function resolveRole(ctx: LiveContext, channelId: number, userId: number | null): Promise<Role> {
  return resolveChannelRole(ctx.db, channelId, userId);
}

async function admit(ctx: LiveContext, rooms: RoomRegistry, request: FastifyRequest, streamId: number): Promise<Admission> {
  const room = await rooms.open(streamId);
  if (!room) return { ok: false, error: new AppError('stream_ended', 'this stream has ended or does not exist'), closeCode: CLOSE_CODES.streamEnded };
  const user = request.user;
  if (user && user.id !== room.channelId) {
    const now = ctx.now();
    if (await isBanned(ctx.db, room.channelId, user.id)) {
      return { ok: false, error: new AppError('banned', 'you are banned from this channel'), closeCode: CLOSE_CODES.banned };
    }
    const kickedUntil = await activeRestrictionUntil(ctx.db, room.channelId, user.id, 'kick', now);
    if (kickedUntil !== null) {
      const retry = Math.ceil((kickedUntil - now) / 1000);
      return { ok: false, error: new AppError('kicked', `you were kicked; you may rejoin in ${retry} s`, { retryAfterSeconds: retry }), closeCode: CLOSE_CODES.kicked };
    }
  }
  return { ok: true, room, role: await resolveRole(ctx, room.channelId, user?.id ?? null) };
}

export function registerLiveWebSocket(app: FastifyInstance, ctx: LiveContext, rooms: RoomRegistry): void {
  const connections = new Set<LiveConnection>();

  // One heartbeat for all sockets: a socket that has not answered the previous
  // ping is dead (network drop without a close frame) and is reaped.
  const heartbeat = setInterval(() => {
    for (const conn of connections) {
      if (!conn.alive) {
        conn.socket.terminate();
        continue;
      }
      conn.alive = false;
      try {
        conn.socket.ping();
      } catch {
        conn.socket.terminate();
      }
    }
  }, ctx.config.heartbeatMs);
  heartbeat.unref();

  app.addHook('onClose', async () => {
    clearInterval(heartbeat);
    rooms.closeAll();
    for (const c of connections) c.socket.terminate();
  });

  app.get<{ Params: { streamId: string } }>(
    '/ws/live/:streamId',
    {
      websocket: true,
      preValidation: async (request, reply) => {
        // Browsers attach cookies to cross-site upgrades: refuse foreign origins.
        // Non-browser clients (no Origin) must use a bearer token or stay anonymous.
        if (request.headers.origin !== undefined && !isOriginAllowed(request, ctx.config.allowedOrigins)) {
          return reply.code(403).send({ error: { code: 'forbidden', message: 'cross-origin WebSocket refused' } });
        }
        if (request.headers.origin === undefined && request.authVia === 'cookie') {
          request.user = null;
          request.authVia = null;
        }
        const streamId = Number(request.params.streamId);
        if (!Number.isSafeInteger(streamId) || streamId < 1) {
          return reply.code(404).send({ error: { code: 'stream_not_found', message: 'no such stream' } });
        }
        request.liveAdmission = await admit(ctx, rooms, request, streamId);
      },
    },
    (socket, request) => {
      const admission = request.liveAdmission;
      if (!admission) {
        socket.close(CLOSE_CODES.internalError, 'not admitted');
        return;
      }
      if (!admission.ok) {
        socket.send(JSON.stringify({ type: 'error', error: admission.error.toWire() }));
        socket.close(admission.closeCode, admission.error.code);
        return;
      }
      const { room, role } = admission;
      const conn = new LiveConnection(socket, request.user, role, ctx.now(), { perSecond: ctx.config.wsMessagesPerSecond, burst: ctx.config.wsMessageBurst });
      connections.add(conn);
      // Listeners attach synchronously so no frame is lost while the join completes.
      socket.on('message', (data, isBinary) => handleFrame(ctx, room, conn, data, isBinary));
      socket.on('pong', () => conn.onPong());
      socket.on('error', (err) => ctx.log.debug({ err, connection: conn.id }, 'socket error'));
      socket.on('close', () => {
        connections.delete(conn);
        room.remove(conn);
      });
      if (room.closed) {
        conn.close(CLOSE_CODES.streamEnded, 'stream ended');
        return;
      }
      room.add(conn);
      conn.send({
        type: 'connection_established',
        connectionId: conn.id,
        role,
        user: request.user,
        stream: room.info(),
        routerRtpCapabilities: room.media.rtpCapabilities,
        iceServers: [],
        producers: room.media.getProducers().map((p) => ({ id: p.id, kind: p.kind, source: p.source })),
        chatSettings: chatSettingsFor(role, room.chatSettings),
        serverTime: ctx.now(),
        heartbeatMs: ctx.config.heartbeatMs,
      });
      conn.send({ type: 'viewers_update', viewers: room.viewers.count, peakViewers: room.peakViewers });
      // Registered synchronously: live comments skip this socket until its history is out.
      void sendChatHistory(ctx, room, conn);
    },
  );
}
