import { existsSync } from 'node:fs';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest, type RouteOptions } from 'fastify';
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import fastifyStatic from '@fastify/static';
import websocket, { type WebSocket } from '@fastify/websocket';
import type { AppConfig } from './config.ts';
import { AppError, isStorageUnavailable } from './errors.ts';
import { CLOSE_CODES, LIMITS } from './protocol/constants.ts';
import { authPlugin } from './plugins/auth.ts';
import { sitePlugin } from './plugins/site.ts';
import { visitorPlugin } from './plugins/visitor.ts';
import { dbPlugin } from './plugins/db.ts';
import { sfuPlugin } from './plugins/sfu.ts';
import { clusterPlugin } from './plugins/cluster.ts';
import { livePlugin } from './plugins/live.ts';
import { lifecyclePlugin } from './plugins/lifecycle.ts';
import { whipPlugin } from './plugins/whip.ts';
import { adminRoutes } from './routes/admin.ts';
import { recordingPlugin } from './plugins/recording.ts';
import { recordingRoutes } from './routes/recordings.ts';
import { clusterRoutes } from './cluster/routes.ts';
import { authRoutes } from './routes/auth.ts';
import { channelRoutes } from './routes/channels.ts';
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
  /** Told of every route as it registers (the OpenAPI test lists them all). */
  onRoute?: (route: RouteOptions) => void;
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

/** Paths the OpenAPI document describes. */
export function isRestPath(url: string): boolean {
  return url.startsWith('/api/') || url === '/health' || url === '/metrics';
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

  if (options.onRoute) app.addHook('onRoute', options.onRoute);

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

  const embedCsp = SECURITY_HEADERS['content-security-policy']!.replace("frame-ancestors 'none'", `frame-ancestors 'self'${config.embedOrigins.map((o) => ` ${o}`).join('')}`);
  app.addHook('onSend', async (request, reply, payload) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
    // The embeddable player is the one page other sites may frame (EMBED_ORIGINS); X-Frame-Options cannot list origins, so it goes.
    if (request.url.startsWith('/embed/')) {
      reply.removeHeader('x-frame-options');
      reply.header('content-security-policy', embedCsp);
    }
    return payload;
  });

  warnOnUndeclaredProxy(app, config);
  await app.register(cookie);
  // Before any route: the document is built from the routes' TypeBox schemas as they register.
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'RED-RED Live', description: 'REST API (the WebSocket protocol is docs/protocol.md)', version: '0.1.0' },
      components: { securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: 'redred_session' }, bearer: { type: 'http', scheme: 'bearer' } } },
    },
    // The REST API only: the single-page app's paths and the WebSocket upgrade are not operations.
    transform: ({ schema, url }) => ({ schema: isRestPath(url) ? schema : { ...schema, hide: true }, url }),
  });
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(dbPlugin, { dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  await app.register(authPlugin, { now });
  await app.register(sitePlugin, { config });
  await app.register(visitorPlugin, { secureCookies: config.secureCookies });

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
  await app.register(clusterPlugin, { config, now });
  await app.register(livePlugin, { config, now });
  await app.register(lifecyclePlugin, { config });
  await app.register(recordingPlugin, { config, now });
  await app.register(whipPlugin, { config, now });

  await app.register(healthRoutes);
  await app.register(authRoutes, { now, sessionTtlMs: config.sessionTtlMs, secureCookies: config.secureCookies, registrationsPerIpPerHour: config.registrationsPerIpPerHour });
  await app.register(streamRoutes, { now });
  await app.register(metricsRoutes, { token: config.metricsToken, listen: config.metricsListen });
  await app.register(adminRoutes, { now, publicUrl: config.publicUrl });
  await app.register(channelRoutes, { now });
  await app.register(recordingRoutes, { now });
  if (app.cluster && config.cluster.secret) await app.register(clusterRoutes, { prefix: '/internal/cluster', secret: config.cluster.secret });

  if (config.clientDir && existsSync(config.clientDir)) {
    await app.register(fastifyStatic, { root: config.clientDir, prefix: '/', wildcard: false, index: ['index.html'] });
    // Client-side routes (/live/12, /studio) load the single-page app.
    app.get('/live/*', (_req, reply) => reply.sendFile('index.html'));
    app.get('/studio', (_req, reply) => reply.sendFile('index.html'));
    app.get('/login', (_req, reply) => reply.sendFile('index.html'));
    app.get('/signup', (_req, reply) => reply.sendFile('index.html'));
    app.get('/admin', (_req, reply) => reply.sendFile('index.html'));
    app.get('/c/*', (_req, reply) => reply.sendFile('index.html'));
    app.get('/embed/*', (_req, reply) => reply.sendFile('index.html'));
    app.get('/reset-password', (_req, reply) => reply.sendFile('index.html'));
  }

  return app;
}
