import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { streamKeyCreatedAt } from '@redred/db';
import { requireUser } from '../plugins/auth.ts';
import { ErrorBody, StreamKeyBody, StreamKeyStatusBody } from '../protocol/rest.ts';
import type { MediaSessions } from '../whip/sessions.ts';
import { rotateStreamKey } from '../whip/stream-keys.ts';

/** The WHIP endpoint OBS must use: PUBLIC_URL's origin behind a proxy, else the origin the request reached. */
export function whipUrlOf(request: FastifyRequest, publicUrl: string | undefined): string {
  return `${(publicUrl ?? `${request.protocol}://${request.host}`).replace(/\/+$/, '')}/api/whip`;
}

/** The studio's stream key: its status, and rotation (which disconnects an encoder using the old key). */
export async function streamKeyRoutes(app: FastifyInstance, opts: { sessions: MediaSessions; now: () => number; publicUrl: string | undefined }): Promise<void> {
  // Route types come from the TypeBox schemas (params, query, body, responses), never written twice.
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.get('/api/stream-key', { schema: { response: { 200: StreamKeyStatusBody, '4xx': ErrorBody } } }, async (request) => {
    const user = requireUser(request);
    const createdAt = (await streamKeyCreatedAt(app.db, user.id)) ?? null;
    return { hasKey: createdAt !== null, createdAt, whipUrl: whipUrlOf(request, opts.publicUrl) };
  });

  r.post('/api/stream-key', { schema: { response: { 201: StreamKeyBody, '4xx': ErrorBody } } }, async (request, reply) => {
    const user = requireUser(request);
    const now = opts.now();
    const key = await rotateStreamKey(app.db, user.id, now);
    opts.sessions.keyRotated(user.id);
    request.log.info({ channelId: user.id }, 'stream key rotated');
    reply.code(201).header('cache-control', 'no-store');
    return { key, createdAt: now, whipUrl: whipUrlOf(request, opts.publicUrl) };
  });
}
