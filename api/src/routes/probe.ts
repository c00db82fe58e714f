import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.ts';
import { requireUser } from '../plugins/auth.ts';
import { ErrorBody, UploadProbeBody } from '../protocol/rest.ts';
import { SlidingWindowLimiter } from '../security/rateLimiter.ts';

/** What one uplink probe may upload: enough to fill a home uplink for a moment, not a transfer. */
export const PROBE_MAX_BYTES = 2 * 1024 * 1024;
export const PROBES_PER_USER_PER_MINUTE = 6;

declare module 'fastify' {
  interface FastifyRequest {
    probeStartedAt?: number;
  }
}

/**
 * The studio's "auto" upload budget: the browser uploads a blob and the server
 * times it from the request's first byte to its last, so the figure is the
 * uplink's and not the browser's view of a round trip.
 */
export async function probeRoutes(app: FastifyInstance, opts: { now: () => number }): Promise<void> {
  // Route types come from the TypeBox schemas (params, query, body, responses), never written twice.
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const limiter = new SlidingWindowLimiter(PROBES_PER_USER_PER_MINUTE, 60_000);
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: PROBE_MAX_BYTES }, (_request, body, done) => done(null, body));
  app.addHook('onRequest', async (request) => {
    request.probeStartedAt = performance.now();
  });
  r.post('/api/probe/upload', { schema: { response: { 200: UploadProbeBody, '4xx': ErrorBody } } }, async (request) => {
    const elapsed = performance.now() - (request.probeStartedAt ?? performance.now());
    const user = requireUser(request);
    const gate = limiter.take(String(user.id), opts.now());
    if (!gate.ok) throw new AppError('rate_limited', 'measure again in a minute', { retryAfterSeconds: Math.ceil(gate.retryAfterMs / 1000) });
    if (!Buffer.isBuffer(request.body)) throw new AppError('bad_request', 'send the probe as application/octet-stream');
    const bytes = request.body.length;
    const ms = Math.max(1, Math.round(elapsed));
    return { bytes, ms, bitsPerSecond: Math.round((bytes * 8 * 1000) / ms) };
  });
}
