import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { StreamKeyOwner } from '@redred/db';
import type { LayerPreference } from '@redred/sfu';
import { AppError } from '../errors.ts';
import type { IceServer } from '../protocol/common.ts';
import { LAYERS } from '../protocol/constants.ts';
import { SlidingWindowLimiter } from '../security/rateLimiter.ts';
import { parseOffer } from './offer.ts';
import type { MediaSession } from './session.ts';
import type { MediaSessions } from './sessions.ts';
import { StreamKeyError, type StreamKeyAuth } from './stream-keys.ts';

// The HTTP side of WHIP (RFC 9725) and WHEP: status codes, Location, ETag,
// Link, Accept-*, WWW-Authenticate and CORS as the RFC describes them. The
// paths are part of the contract (docs/protocol.md, docs/obs.md): OBS's
// "Server" field is `<origin>/api/whip`.

export const SDP_TYPE = 'application/sdp';
export const SDPFRAG_TYPE = 'application/trickle-ice-sdpfrag';
/** An offer from OBS or a browser is 2–10 KiB. */
export const SDP_BODY_LIMIT = 64 * 1024;
/** Sessions one address may create per minute (each costs a transport): an avalanche guard (RFC 9725 §7). */
export const SESSIONS_PER_IP_PER_MINUTE = 120;

export interface WhipRoutesOptions {
  sessions: MediaSessions;
  keys: StreamKeyAuth;
  now: () => number;
  /** STUN/TURN for a client (TURN credentials are per user and expire): TURN_URLS, see auth/turn-credentials.ts. */
  iceServers: (userId: number | null) => IceServer[];
}

declare module 'fastify' {
  interface FastifyRequest {
    streamKeyOwner?: StreamKeyOwner & { keyHash: string };
  }
}

/** Path and query shapes (the bodies are SDP, read by `bodyOf`): the route types come from these. */
const SessionParams = Type.Object({ id: Type.String() });
type SessionParams = Static<typeof SessionParams>;
const WhepParams = Type.Object({ streamId: Type.String() });
const WhepQuery = Type.Object({ layer: Type.Optional(Type.String()) });
const LayerRequest = Type.Object({ layer: Type.Optional(Type.Unknown()) });

const EXPOSED = 'Location, ETag, Link, Accept-Patch, Accept-Post, Retry-After, WWW-Authenticate';

function cors(reply: FastifyReply): void {
  // Bearer-authenticated, never cookie-authenticated cross-site: any origin's player or encoder page may call.
  reply.header('access-control-allow-origin', '*').header('access-control-expose-headers', EXPOSED);
}

function preflight(reply: FastifyReply, methods: string, accept: Record<string, string>): FastifyReply {
  cors(reply);
  reply
    .header('access-control-allow-methods', methods)
    .header('access-control-allow-headers', 'Authorization, Content-Type, If-Match')
    .header('access-control-max-age', '86400')
    .header('allow', methods);
  for (const [k, v] of Object.entries(accept)) reply.header(k, v);
  return reply.code(200).send();
}

function notAllowed(allow: string) {
  return async (_request: FastifyRequest, reply: FastifyReply) => {
    cors(reply);
    reply.header('allow', allow);
    throw new AppError('method_not_allowed', `use ${allow}`);
  };
}

/** The body, if it came as `type` (Fastify parsed other types differently, or not at all). */
function bodyOf(request: FastifyRequest, type: string): string {
  const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (contentType !== type || typeof request.body !== 'string') throw new AppError('unsupported_media_type', `send the body as Content-Type: ${type}`);
  return request.body;
}

/** RFC 9725 §4.6: one `Link: <url>; rel="ice-server"` per URL, TURN ones with their credential. */
export function iceServerLinks(servers: IceServer[]): string[] {
  const quote = (v: string) => `"${v.replace(/["\\]/g, '')}"`;
  return servers.flatMap((s) =>
    s.urls.map((url) => {
      let link = `<${url}>; rel="ice-server"`;
      if (s.username !== undefined && s.credential !== undefined) link += `; username=${quote(s.username)}; credential=${quote(s.credential)}; credential-type="password"`;
      return link;
    }),
  );
}

function parseLayer(raw: unknown): LayerPreference {
  if (raw === undefined) return 'auto';
  if (typeof raw === 'string' && (LAYERS as readonly string[]).includes(raw)) return raw as LayerPreference;
  throw new AppError('validation_failed', `layer must be one of ${LAYERS.join(', ')}`);
}

export async function whipRoutes(app: FastifyInstance, opts: WhipRoutesOptions): Promise<void> {
  // Route types come from the TypeBox schemas (params, query, body, responses), never written twice.
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { sessions, keys, now } = opts;
  const creations = new SlidingWindowLimiter(SESSIONS_PER_IP_PER_MINUTE, 60_000);
  const prune = setInterval(() => creations.prune(now()), 60_000);
  prune.unref();
  app.addHook('onClose', async () => clearInterval(prune));

  for (const type of [SDP_TYPE, SDPFRAG_TYPE]) {
    app.addContentTypeParser(type, { parseAs: 'string', bodyLimit: SDP_BODY_LIMIT }, (_request, body, done) => done(null, body));
  }

  app.setErrorHandler((err: FastifyError | AppError, request, reply) => {
    cors(reply);
    if (err instanceof StreamKeyError) reply.header('www-authenticate', err.challenge);
    if (err instanceof AppError) {
      if (err.retryAfterSeconds !== undefined) reply.header('retry-after', err.retryAfterSeconds);
      if (err.statusCode >= 500) request.log.warn({ err }, 'WHIP/WHEP request could not be served');
      return reply.code(err.statusCode).send({ error: err.toWire() });
    }
    const fe = err as FastifyError;
    if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply.code(415).send({ error: { code: 'unsupported_media_type', message: `send the body as Content-Type: ${SDP_TYPE}` } });
    }
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.code(413).send({ error: { code: 'payload_too_large', message: `an SDP body is at most ${SDP_BODY_LIMIT} bytes` } });
    }
    // Anything else is the app's to answer (500s hidden, storage errors as 503).
    throw err;
  });

  const limitCreations = async (request: FastifyRequest) => {
    const gate = creations.take(request.ip, now());
    if (!gate.ok) throw new AppError('rate_limited', 'too many sessions from this address; try again later', { retryAfterSeconds: Math.ceil(gate.retryAfterMs / 1000) });
  };
  // Before the body is read: a missing or wrong key costs no parsing.
  const authenticate = async (request: FastifyRequest) => {
    request.streamKeyOwner = await keys.authenticate(request);
  };

  const created = (reply: FastifyReply, session: MediaSession & { answer: string }, base: string) => {
    cors(reply);
    reply.code(201).header('location', `${base}/sessions/${session.id}`).header('etag', session.etag).header('accept-patch', SDPFRAG_TYPE).header('content-type', SDP_TYPE);
    const links = iceServerLinks(opts.iceServers(session.user?.id ?? null));
    if (links.length > 0) reply.header('link', links);
    return reply.send(session.answer);
  };

  const patch = async (session: MediaSession, request: FastifyRequest, reply: FastifyReply) => {
    const body = bodyOf(request, SDPFRAG_TYPE);
    const ifMatch = request.headers['if-match'];
    const outcome = await session.patch(typeof ifMatch === 'string' ? ifMatch : undefined, body);
    cors(reply);
    if (outcome.kind === 'trickle') return reply.code(204).send();
    return reply.code(200).header('etag', outcome.etag).header('content-type', SDPFRAG_TYPE).send(outcome.fragment);
  };

  // ── WHIP: POST /api/whip with the stream key as bearer token ──────────────
  r.options('/api/whip', async (_request, reply) => preflight(reply, 'POST, OPTIONS', { 'accept-post': SDP_TYPE }));
  r.get('/api/whip', async (_request, reply) => (cors(reply), reply.code(204).send()));
  r.route({ method: ['PUT', 'PATCH', 'DELETE'], url: '/api/whip', handler: notAllowed('POST, OPTIONS') });
  r.post('/api/whip', { onRequest: [limitCreations, authenticate] }, async (request, reply) => {
    const owner = request.streamKeyOwner!;
    // STREAMING=approved: a key made before the rule (or before an approval was revoked) does not get around it.
    await app.siteGate.assertMayStream({ id: owner.channelId, username: owner.username });
    const offer = parseOffer(bodyOf(request, SDP_TYPE), 'publish');
    const session = await sessions.publish({ id: owner.channelId, username: owner.username }, owner.keyHash, offer);
    return created(reply, session, '/api/whip');
  });

  const whipSession = (request: { params: SessionParams; streamKeyOwner?: FastifyRequest['streamKeyOwner'] }) => {
    const session = sessions.get(request.params.id, 'whip');
    // Another channel's session reads as a missing one.
    if (!session || session.channelId !== request.streamKeyOwner!.channelId) throw new AppError('not_found', 'no such WHIP session (it ended, or belongs to another key)');
    return session;
  };
  r.options('/api/whip/sessions/:id', async (_request, reply) => preflight(reply, 'PATCH, DELETE, OPTIONS', { 'accept-patch': SDPFRAG_TYPE }));
  r.get('/api/whip/sessions/:id', async (_request, reply) => (cors(reply), reply.code(204).send()));
  r.route({ method: ['PUT', 'POST'], url: '/api/whip/sessions/:id', handler: notAllowed('PATCH, DELETE, OPTIONS') });
  r.delete('/api/whip/sessions/:id', { onRequest: authenticate, schema: { params: SessionParams } }, async (request, reply) => {
    whipSession(request).close('deleted');
    cors(reply);
    return reply.code(200).send();
  });
  r.patch('/api/whip/sessions/:id', { onRequest: authenticate, schema: { params: SessionParams } }, async (request, reply) => patch(whipSession(request), request, reply));

  // ── WHEP: POST /api/whep/:streamId, anonymous or with a session token ─────
  const whepPath = '/api/whep/:streamId';
  r.options(whepPath, async (_request, reply) => preflight(reply, 'POST, OPTIONS', { 'accept-post': SDP_TYPE }));
  r.get(whepPath, async (_request, reply) => (cors(reply), reply.code(204).send()));
  r.post(whepPath, { onRequest: limitCreations, schema: { params: WhepParams, querystring: WhepQuery } }, async (request, reply) => {
    const streamId = Number(request.params.streamId);
    if (!Number.isSafeInteger(streamId) || streamId < 1) throw new AppError('stream_not_found', 'no such stream');
    const layer = parseLayer(request.query.layer);
    const offer = parseOffer(bodyOf(request, SDP_TYPE), 'play');
    const session = await sessions.play(streamId, request.user, offer, layer);
    return created(reply, session, '/api/whep');
  });

  // The session URL is the capability (128 random bits), as the player was never asked for a key.
  const whepSession = (request: { params: SessionParams }) => {
    const session = sessions.get(request.params.id, 'whep');
    if (!session) throw new AppError('not_found', 'no such WHEP session (it ended)');
    return session;
  };
  r.options('/api/whep/sessions/:id', async (_request, reply) => preflight(reply, 'PATCH, DELETE, OPTIONS', { 'accept-patch': SDPFRAG_TYPE }));
  r.get('/api/whep/sessions/:id', async (_request, reply) => (cors(reply), reply.code(204).send()));
  r.route({ method: ['PUT', 'POST'], url: '/api/whep/sessions/:id', handler: notAllowed('PATCH, DELETE, OPTIONS') });
  r.delete('/api/whep/sessions/:id', { schema: { params: SessionParams } }, async (request, reply) => {
    whepSession(request).close('deleted');
    cors(reply);
    return reply.code(200).send();
  });
  r.patch('/api/whep/sessions/:id', { schema: { params: SessionParams } }, async (request, reply) => patch(whepSession(request), request, reply));
  r.options('/api/whep/sessions/:id/layer', async (_request, reply) => preflight(reply, 'POST, OPTIONS', {}));
  r.post('/api/whep/sessions/:id/layer', { schema: { params: SessionParams, body: LayerRequest } }, async (request, reply) => {
    const layer = parseLayer(request.body.layer ?? '');
    await whepSession(request).setLayer(layer);
    cors(reply);
    return reply.code(204).send();
  });
}
