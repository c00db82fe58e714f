import { Type, type Static } from '@sinclair/typebox';
import { isSfuError } from '@redred/sfu';
import type { FastifyInstance } from 'fastify';
import { ClusterError } from './errors.ts';
import { CLUSTER_SECRET_HEADER, isClusterSecret } from './origin-link.ts';
import type { ClusterStreamMedia } from './stream-media.ts';

const StreamParams = Type.Object({ streamId: Type.String({ pattern: '^[1-9][0-9]{0,15}$' }) });
const PipeParams = Type.Object({ streamId: Type.String({ pattern: '^[1-9][0-9]{0,15}$' }), pipeId: Type.String({ minLength: 1, maxLength: 64 }) });
const Endpoint = Type.Object({
  ip: Type.String({ minLength: 1, maxLength: 255 }),
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  srtpParameters: Type.Object({
    cryptoSuite: Type.Union([Type.Literal('AEAD_AES_256_GCM'), Type.Literal('AEAD_AES_128_GCM'), Type.Literal('AES_CM_128_HMAC_SHA1_80'), Type.Literal('AES_CM_128_HMAC_SHA1_32')]),
    keyBase64: Type.String({ minLength: 1, maxLength: 256 }),
  }),
});
const OpenPipeBody = Type.Object({ edgeNodeId: Type.String({ minLength: 1, maxLength: 64 }), endpoint: Endpoint });
const ConsumeBody = Type.Object({ producerId: Type.String({ minLength: 1, maxLength: 64 }) });

/**
 * The node-to-node API, under `/internal/cluster/`: an edge asks the origin of
 * a stream for a pipe and for producers through it. Every call carries the
 * cluster secret; the front (deploy/nginx-cluster.conf) never forwards this
 * path from outside.
 */
export async function clusterRoutes(app: FastifyInstance, { secret }: { secret: string }): Promise<void> {
  app.addHook('onRequest', async (request, reply) => {
    const presented = request.headers[CLUSTER_SECRET_HEADER];
    if (!isClusterSecret(typeof presented === 'string' ? presented : undefined, secret)) {
      request.log.warn({ url: request.url }, 'cluster call without the cluster secret refused');
      return reply.code(403).send({ error: new ClusterError('cluster_forbidden', 'this is for the nodes of the cluster').toWire() });
    }
  });

  app.setErrorHandler((err, request, reply) => {
    if (err instanceof ClusterError) return reply.code(err.statusCode).send({ error: err.toWire() });
    if (isSfuError(err, 'producer_not_found')) return reply.code(404).send({ error: { code: 'producer_not_found', message: err.message } });
    if (isSfuError(err, 'stream_closed')) return reply.code(409).send({ error: { code: 'not_origin', message: err.message } });
    if (isSfuError(err, 'invalid_parameters') || (err as { validation?: unknown }).validation) {
      return reply.code(400).send({ error: { code: 'bad_request', message: (err as Error).message } });
    }
    request.log.error({ err }, 'cluster call failed');
    return reply.code(500).send({ error: { code: 'node_unreachable', message: 'internal error on the origin' } });
  });

  /** The stream's media on this node, if this node is its origin. */
  const originOf = (streamId: string): ClusterStreamMedia => {
    const media = app.rooms.get(Number(streamId))?.cluster;
    if (!media?.isOrigin) throw new ClusterError('not_origin', `this node is not the origin of stream ${streamId}`);
    return media;
  };

  app.post<{ Params: Static<typeof StreamParams>; Body: Static<typeof OpenPipeBody> }>(
    '/streams/:streamId/pipes',
    { schema: { params: StreamParams, body: OpenPipeBody } },
    async (request, reply) => {
      const opened = await originOf(request.params.streamId).openPipe(request.body.edgeNodeId, request.body.endpoint);
      return reply.code(201).send(opened);
    },
  );

  app.post<{ Params: Static<typeof PipeParams>; Body: Static<typeof ConsumeBody> }>(
    '/streams/:streamId/pipes/:pipeId/consumers',
    { schema: { params: PipeParams, body: ConsumeBody } },
    async (request) => originOf(request.params.streamId).pipe(request.params.pipeId).consume(request.body.producerId),
  );

  app.delete<{ Params: Static<typeof PipeParams> }>('/streams/:streamId/pipes/:pipeId', { schema: { params: PipeParams } }, async (request, reply) => {
    // Idempotent: a pipe already gone (origin moved, closed by a dead-edge check) is fine.
    app.rooms.get(Number(request.params.streamId))?.cluster?.closePipe(request.params.pipeId);
    return reply.code(204).send();
  });
}
