import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { channelRecordsByDefault, setStreamRecord, computeStreamStats, createStream, findOpenStreamOf, getStreamWithStreamer, listStreamsByStatus, listViewerSamples, updateStreamDetails, type StreamWithStreamer } from '@redred/db';
import { AppError } from '../errors.ts';
import { requireUser } from '../plugins/auth.ts';
import type { StreamInfo } from '../protocol/common.ts';
import { CreateStreamBody, ErrorBody, IdParams, StatsBody, StreamBody, StreamListBody, UpdateStreamBody } from '../protocol/rest.ts';

export function toStreamInfo(s: StreamWithStreamer, liveViewers?: number): StreamInfo {
  return {
    id: s.id,
    title: s.title,
    description: s.description,
    status: s.status,
    streamer: { id: s.streamer_id, username: s.streamer_username },
    viewers: s.status === 'ended' ? 0 : (liveViewers ?? s.viewers_count),
    peakViewers: s.peak_viewers,
    startedAt: s.started_at,
    endedAt: s.ended_at,
    createdAt: s.created_at,
    endReason: s.end_reason,
  };
}


export async function streamRoutes(app: FastifyInstance, opts: { now: () => number }): Promise<void> {
  // Route types come from the TypeBox schemas (params, query, body, responses), never written twice.
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  // The original design's path, with and without its trailing slash.
  for (const path of ['/api/live/create/', '/api/live/create']) {
    r.post(path, { schema: { body: CreateStreamBody, response: { 201: StreamBody, '4xx': ErrorBody } } }, async (request, reply) => {
      const user = requireUser(request);
      await app.siteGate.assertMayStream(user);
      const title = request.body.title.trim();
      if (title.length === 0) throw new AppError('validation_failed', 'title must not be blank');
      const res = await createStream(app.db, { streamerId: user.id, title, description: (request.body.description ?? '').trim(), now: opts.now() });
      if (!res.ok) throw new AppError('stream_already_open', `you already have an open stream (${res.stream.id}); end it first`);
      const record = request.body.record ?? (await channelRecordsByDefault(app.db, user.id));
      if (record) await setStreamRecord(app.db, res.stream.id, true);
      const full = await getStreamWithStreamer(app.db, res.stream.id);
      reply.code(201);
      return { stream: toStreamInfo(full!) };
    });
  }

  r.get('/api/live/', { schema: { response: { 200: StreamListBody } } }, async () => {
    const rows = await listStreamsByStatus(app.db, ['live']);
    return { streams: rows.map((s) => toStreamInfo(s, app.rooms.get(s.id)?.viewers.count)) };
  });

  // The signed-in streamer's stream that is not ended (waiting or live): the studio resumes it on any device.
  r.get('/api/live/mine', { schema: { response: { 200: StreamBody, '4xx': ErrorBody } } }, async (request) => {
    const user = requireUser(request);
    const open = await findOpenStreamOf(app.db, user.id);
    if (!open) throw new AppError('stream_not_found', 'you have no open stream');
    const s = await getStreamWithStreamer(app.db, open.id);
    return { stream: toStreamInfo(s!, app.rooms.get(open.id)?.viewers.count) };
  });

  r.get('/api/live/:id', { schema: { params: IdParams, response: { 200: StreamBody, '4xx': ErrorBody } } }, async (request) => {
    const s = await getStreamWithStreamer(app.db, Number(request.params.id));
    if (!s) throw new AppError('stream_not_found', 'no such stream');
    return { stream: toStreamInfo(s, app.rooms.get(s.id)?.viewers.count) };
  });

  // The streamer edits the title and description, also while live (a stream started from OBS takes the last ones).
  r.patch('/api/live/:id', { schema: { params: IdParams, body: UpdateStreamBody, response: { 200: StreamBody, '4xx': ErrorBody } } }, async (request) => {
    const user = requireUser(request);
    const id = Number(request.params.id);
    const current = await getStreamWithStreamer(app.db, id);
    if (!current) throw new AppError('stream_not_found', 'no such stream');
    if (current.streamer_id !== user.id) throw new AppError('forbidden', 'only the streamer edits the stream');
    const title = request.body.title?.trim();
    if (title !== undefined && title.length === 0) throw new AppError('validation_failed', 'title must not be blank');
    const updated = await updateStreamDetails(app.db, id, { title, description: request.body.description?.trim() });
    if (!updated) throw new AppError('stream_ended', 'this stream has ended', { statusCode: 409 });
    app.rooms.get(id)?.publish({ kind: 'stream_info', title: updated.title, description: updated.description });
    const s = await getStreamWithStreamer(app.db, id);
    return { stream: toStreamInfo(s!, app.rooms.get(id)?.viewers.count) };
  });

  r.get('/api/live/:id/stats', { schema: { params: IdParams, response: { 200: StatsBody, '4xx': ErrorBody } } }, async (request) => {
    const id = Number(request.params.id);
    const s = await getStreamWithStreamer(app.db, id);
    if (!s) throw new AppError('stream_not_found', 'no such stream');
    const stats = computeStreamStats(s, opts.now());
    const series = await listViewerSamples(app.db, id);
    return { stats: { streamId: id, ...stats, durationMs: Math.round(stats.durationMs), series } };
  });
}
