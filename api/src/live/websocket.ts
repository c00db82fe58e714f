import type { FastifyInstance, FastifyRequest } from 'fastify';
import { iceServersFor } from '../auth/turn-credentials.ts';
import { AppError } from '../errors.ts';
import { CLOSE_CODES, type Role } from '../protocol/constants.ts';
import { isOriginAllowed } from '../security/origin.ts';
import { LiveConnection } from './connection.ts';
import type { LiveContext } from './context.ts';
import { handleFrame } from './dispatcher.ts';
import type { RoomRegistry } from './rooms.ts';
import type { StreamRoom } from './room.ts';
import { chatSettingsFor } from './chat.ts';

type Admission = { ok: true; room: StreamRoom; role: Role } | { ok: false; error: AppError; closeCode: number };

declare module 'fastify' {
  interface FastifyRequest {
    liveAdmission?: Admission;
  }
}

/** The room of the stream, and the moderation gate's word on this user joining it. */
async function admit(ctx: LiveContext, rooms: RoomRegistry, request: FastifyRequest, streamId: number): Promise<Admission> {
  const room = await rooms.open(streamId);
  if (!room) return { ok: false, error: new AppError('stream_ended', 'this stream has ended or does not exist'), closeCode: CLOSE_CODES.streamEnded };
  const admission = await room.gate.admit(request.user, ctx.now());
  return admission.ok ? { ok: true, room, role: admission.role } : admission;
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
    // Every client hears 1001 and every admitted comment is committed before the database closes.
    await rooms.closeAll();
    for (const c of connections) c.socket.terminate();
  });

  app.get<{ Params: { streamId: string } }>(
    '/ws/live/:streamId',
    {
      websocket: true,
      preValidation: async (request, reply) => {
        // Browsers attach cookies to cross-site upgrades: refuse foreign origins.
        // Non-browser clients (no Origin) must use a bearer token or stay anonymous.
        if (request.headers.origin !== undefined && !isOriginAllowed(request, ctx.config)) {
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
      const conn = new LiveConnection(socket, request.user, role, ctx.now(), { perSecond: ctx.config.wsMessagesPerSecond, burst: ctx.config.wsMessageBurst }, undefined, request.visitorId, request.sessionTokenHash);
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
        iceServers: iceServersFor(ctx.config.turn, request.user?.id ?? null, ctx.now()),
        producers: room.media.getProducers().map((p) => ({ id: p.id, kind: p.kind, source: p.source })),
        chatSettings: chatSettingsFor(role, room.chatSettings),
        serverTime: ctx.now(),
        heartbeatMs: ctx.config.heartbeatMs,
      });
      conn.send({ type: 'viewers_update', viewers: room.presence.count, peakViewers: room.peakViewers });
      // Registered synchronously: live comments skip this socket until its history is out.
      void room.chat.sendHistory(conn);
    },
  );
}
