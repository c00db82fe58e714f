import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { channelRecordsByDefault, findUserByUsername, recentCommentsWithRoles, getRecording, listChannelRecordings, recordingOfStream, setChannelRecordDefault, updateRecording, type RecordingWithChannel } from '@redred/db';
import { AppError } from '../errors.ts';
import { requireUser } from '../plugins/auth.ts';
import { ErrorBody, NoContent, RecordingBody, RecordingListBody, RecordingSettingsBody, REPLAY_CHAT_MAX, ReplayChatBody, UpdateRecordingBody, type RecordingInfo } from '../protocol/rest.ts';
import { parseRange } from '../recording/range.ts';
import { finalFile, RECORDING_ID } from '../recording/store.ts';
import { mediaTimeOf, parseTimeline } from '../recording/timeline.ts';

const IdParams = Type.Object({ id: Type.String({ pattern: RECORDING_ID.source }) });
const UserParams = Type.Object({ username: Type.String({ minLength: 1, maxLength: 64 }) });
const CONTENT_TYPE: Record<string, string> = { webm: 'video/webm', mp4: 'video/mp4' };

function toInfo(r: RecordingWithChannel): RecordingInfo {
  const playable = r.status === 'ready' || r.status === 'partial';
  return {
    id: r.id,
    streamId: r.stream_id,
    channel: { id: r.channel_id, username: r.channel_username },
    title: r.stream_title,
    status: r.status,
    container: r.container,
    private: r.private === 1,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    durationMs: r.duration_ms,
    sizeBytes: r.size_bytes,
    stopReason: r.stop_reason,
    ...(playable ? { url: `/api/recordings/${r.id}/file` } : {}),
  };
}

/** Visibility follows the stream (public), unless the streamer made it private: then only they see it, and others get 404. */
async function visibleRecording(app: FastifyInstance, request: Pick<FastifyRequest, 'user'>, id: number): Promise<RecordingWithChannel> {
  const rec = await getRecording(app.db, id);
  if (!rec || (rec.private === 1 && request.user?.id !== rec.channel_id)) throw new AppError('recording_not_found', 'no such recording');
  return rec;
}

async function ownRecording(app: FastifyInstance, request: Pick<FastifyRequest, 'user'>, id: number): Promise<RecordingWithChannel> {
  const user = requireUser(request);
  const rec = await visibleRecording(app, request, id);
  if (rec.channel_id !== user.id) throw new AppError('forbidden', 'only the streamer manages this recording');
  return rec;
}

/** Recordings over REST: info, the file (range requests), the channel's list, private flag, delete (docs/recording.md). */
export async function recordingRoutes(app: FastifyInstance, opts: { now: () => number }): Promise<void> {
  // Route types come from the TypeBox schemas, never written twice.
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const one = { params: IdParams, response: { 200: RecordingBody, '4xx': ErrorBody } };

  r.get('/api/recordings/:id', { schema: one }, async (request) => ({
    recording: toInfo(await visibleRecording(app, request, Number(request.params.id))),
  }));

  r.get('/api/live/:id/recording', { schema: one }, async (request) => {
    const rec = await recordingOfStream(app.db, Number(request.params.id));
    if (!rec) throw new AppError('recording_not_found', 'this stream has no recording');
    return { recording: toInfo(await visibleRecording(app, request, rec.id)) };
  });

  r.get(
    '/api/channels/:username/recordings',
    { schema: { params: UserParams, response: { 200: RecordingListBody, '4xx': ErrorBody } } },
    async (request) => {
      const channel = await findUserByUsername(app.db, request.params.username);
      if (!channel) throw new AppError('user_not_found', 'no such channel');
      const rows = await listChannelRecordings(app.db, channel.id, request.user?.id === channel.id);
      return { recordings: rows.map(toInfo) };
    },
  );

  r.patch(
    '/api/recordings/:id',
    { schema: { ...one, body: UpdateRecordingBody } },
    async (request) => {
      const rec = await ownRecording(app, request, Number(request.params.id));
      await updateRecording(app.db, rec.id, { private: request.body.private ? 1 : 0 });
      return { recording: toInfo({ ...rec, private: request.body.private ? 1 : 0 }) };
    },
  );

  r.delete('/api/recordings/:id', { schema: { params: IdParams, response: { 204: NoContent, '4xx': ErrorBody } } }, async (request, reply) => {
    const rec = await ownRecording(app, request, Number(request.params.id));
    await app.recordings.delete(rec.id);
    return reply.code(204).send(null);
  });

  r.get('/api/recordings/:id/chat', { schema: { params: IdParams, response: { 200: ReplayChatBody, '4xx': ErrorBody } } }, async (request) => {
    const rec = await visibleRecording(app, request, Number(request.params.id));
    const rows = await recentCommentsWithRoles(app.db, rec.stream_id, rec.channel_id, REPLAY_CHAT_MAX);
    const timeline = parseTimeline(rec.timeline);
    return {
      comments: rows.map((c) => ({
        id: c.id,
        username: c.username,
        content: c.content,
        createdAt: c.createdAt,
        mediaMs: Math.round(mediaTimeOf(timeline, c.createdAt, rec.started_at)),
      })),
    };
  });

  const settings = { response: { 200: RecordingSettingsBody, '4xx': ErrorBody } };
  r.get('/api/recording-settings', { schema: settings }, async (request) => ({
    recordByDefault: await channelRecordsByDefault(app.db, requireUser(request).id),
  }));
  r.put('/api/recording-settings', { schema: { ...settings, body: RecordingSettingsBody } }, async (request) => {
    const user = requireUser(request);
    await setChannelRecordDefault(app.db, user.id, request.body.recordByDefault, opts.now());
    return { recordByDefault: request.body.recordByDefault };
  });

  r.get('/api/recordings/:id/file', { schema: { params: IdParams } }, async (request, reply) => {
    const rec = await visibleRecording(app, request, Number(request.params.id));
    if (rec.status !== 'ready' && rec.status !== 'partial') throw new AppError('recording_not_found', 'this recording is not finished yet');
    const file = finalFile(app.recordings.ctx.recordingsDir, rec.id, rec.container);
    const size = await stat(file).then((s) => s.size, () => -1);
    if (size < 0) throw new AppError('recording_not_found', 'the recording file is gone');
    reply.header('Accept-Ranges', 'bytes');
    reply.header('Content-Type', CONTENT_TYPE[rec.container] ?? 'application/octet-stream');
    reply.header('Cache-Control', rec.private === 1 ? 'private, no-store' : 'public, max-age=3600');
    const range = parseRange(request.headers.range, size);
    if (range === 'unsatisfiable') {
      reply.header('Content-Range', `bytes */${size}`);
      throw new AppError('range_not_satisfiable', `the file has ${size} bytes`);
    }
    if (!range) {
      reply.header('Content-Length', size);
      return reply.send(createReadStream(file));
    }
    reply.code(206);
    reply.header('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
    reply.header('Content-Length', range.end - range.start + 1);
    return reply.send(createReadStream(file, { start: range.start, end: range.end }));
  });
}
