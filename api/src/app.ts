import { existsSync } from 'node:fs';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import websocket, { type WebSocket } from '@fastify/websocket';
import type { AppConfig } from './config.ts';
import { AppError, isStorageUnavailable } from './errors.ts';
import { CLOSE_CODES, LIMITS } from './protocol/constants.ts';
import { authPlugin } from './plugins/auth.ts';
import { dbPlugin } from './plugins/db.ts';
import { sfuPlugin } from './plugins/sfu.ts';
import { livePlugin } from './plugins/live.ts';
import { lifecyclePlugin } from './plugins/lifecycle.ts';
import { whipPlugin } from './plugins/whip.ts';
import { recordingPlugin } from './plugins/recording.ts';
import { recordingRoutes } from './routes/recordings.ts';
import { authRoutes } from './routes/auth.ts';
import { healthRoutes } from './routes/health.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { streamRoutes } from './routes/streams.ts';
import { isOriginAllowed } from './security/origin.ts';
import { warnOnUndeclaredProxy } from './security/proxy-warning.ts';

export interface BuildAppOptions {
  /** Injectable clock (ms since the epoch) so tests can control time. */
  now?: () => number;
  /** Pino logger options; tests pass `false`. */
  logger?: boolean | object;
}

const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'permissions-policy': 'camera=(self), microphone=(self), display-capture=(self)',
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
};

/**
 * Errors on an established WebSocket. `ws` raises `WS_ERR_*` for frames that break
 * the protocol (over `maxPayload`, invalid UTF-8, bad opcodes) and has already sent
 * the close frame with the matching code (1009, 1007, 1002): that is the client's
 * fault, logged at warn without a stack. Anything else came from our handler.
 */
function onWebSocketError(error: Error & { code?: unknown }, socket: WebSocket, request: FastifyRequest): void {
  if (typeof error.code === 'string' && error.code.startsWith('WS_ERR_')) {
    request.log.warn({ code: error.code, reason: error.message }, 'malformed WebSocket frame from client; socket closed');
    return;
  }
  request.log.error({ err: error }, 'WebSocket handler failed');
  socket.terminate();
}

/** Builds the whole service; `server.ts` only adds config parsing, signals and `listen`. */
export async function buildApp(config: AppConfig, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const now = options.now ?? Date.now;
  const app = Fastify({
    logger: options.logger ?? { level: config.logLevel },
    trustProxy: config.trustProxy,
    bodyLimit: 64 * 1024,
    // Slow-loris and idle keep-alive limits: a self-hosted box has few sockets to spare.
    requestTimeout: 30_000,
    connectionTimeout: 30_000,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });

  app.setErrorHandler((err: FastifyError | AppError, request, reply) => {
    if (err instanceof AppError) {
      if (err.retryAfterSeconds !== undefined) reply.header('retry-after', err.retryAfterSeconds);
      return reply.code(err.statusCode).send({ error: err.toWire() });
    }
    const fe = err as FastifyError;
    if (fe.validation) {
      return reply.code(400).send({ error: { code: 'validation_failed', message: `${fe.validationContext ?? 'request'} ${fe.validation[0]?.instancePath ?? ''} ${fe.validation[0]?.message ?? 'is invalid'}`.replace(/\s+/g, ' ').trim() } });
    }
    if (fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (fe.statusCode === 400 && err instanceof SyntaxError)) {
      return reply.code(400).send({ error: { code: 'invalid_json', message: 'the body is not valid JSON' } });
    }
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.code(413).send({ error: { code: 'payload_too_large', message: 'the body is too large' } });
    }
    if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      return reply.code(400).send({ error: { code: 'bad_request', message: fe.message } });
    }
    if (isStorageUnavailable(err)) {
      request.log.error({ err }, 'storage unavailable');
      return reply.code(503).send({ error: { code: 'unavailable', message: 'storage is unavailable; nothing was saved' } });
    }
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      return reply.code(fe.statusCode).send({ error: { code: 'bad_request', message: fe.message } });
    }
    request.log.error({ err }, 'unhandled error');
    return reply.code(500).send({ error: { code: 'internal', message: 'internal error' } });
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: { code: 'not_found', message: `no route for ${request.method} ${request.url.split('?')[0]}` } });
  });

  app.addHook('onSend', async (_request, reply, payload) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
    return payload;
  });

  warnOnUndeclaredProxy(app, config);
  await app.register(cookie);
  await app.register(dbPlugin, { dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  await app.register(authPlugin, { now });

  // CSRF: a write authenticated by cookie must come from an allowed origin.
  // Bearer-token writes carry no ambient authority, so they need no check.
  app.addHook('preHandler', async (request) => {
    if (request.authVia !== 'cookie') return;
    if (['GET', 'HEAD', 'OPTIONS'].includes(request.method)) return;
    if (!isOriginAllowed(request, config)) {
      throw new AppError('csrf_rejected', 'cross-site request refused');
    }
  });

  await app.register(websocket, {
    errorHandler: onWebSocketError,
    // Shutdown: every client learns the server is going away (1001) and may reconnect later.
    preClose(done) {
      for (const client of app.websocketServer.clients) client.close(CLOSE_CODES.goingAway, 'server shutting down');
      app.websocketServer.close(() => done());
    },
    options: {
      maxPayload: LIMITS.maxFrameBytes,
      perMessageDeflate: false,
      // Sec-WebSocket-Origin is checked in the route's preValidation, where the
      // refusal can carry our error format.
    },
  });
  await app.register(sfuPlugin, { config });
  await app.register(livePlugin, { config, now });
  await app.register(lifecyclePlugin, { config });
  await app.register(recordingPlugin, { config, now });
  await app.register(whipPlugin, { config, now });

  await app.register(healthRoutes);
  await app.register(authRoutes, { now, sessionTtlMs: config.sessionTtlMs, secureCookies: config.secureCookies, registrationsPerIpPerHour: config.registrationsPerIpPerHour });
  await app.register(streamRoutes, { now });
  await app.register(recordingRoutes, { now });
  await app.register(metricsRoutes);

  if (config.clientDir && existsSync(config.clientDir)) {
    await app.register(fastifyStatic, { root: config.clientDir, prefix: '/', wildcard: false, index: ['index.html'] });
    // Client-side routes (/live/12, /studio) load the single-page app.
    app.get('/live/*', (_req, reply) => reply.sendFile('index.html'));
    app.get('/studio', (_req, reply) => reply.sendFile('index.html'));
    app.get('/login', (_req, reply) => reply.sendFile('index.html'));
    app.get('/signup', (_req, reply) => reply.sendFile('index.html'));
  }

  return app;
}
