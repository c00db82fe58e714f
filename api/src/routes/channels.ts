import type { FastifyInstance } from 'fastify';
import { findUserByUsername, listChannelStreams } from '@redred/db';
import { AppError } from '../errors.ts';
import { ChannelBody, ErrorBody } from '../protocol/rest.ts';
import { toStreamInfo } from './streams.ts';

const PAST_STREAMS = 20;
const NameParams = { type: 'object', properties: { username: { type: 'string', minLength: 1, maxLength: 64 } }, required: ['username'] } as const;

/** A stable address per streamer: what is on now, and what was. */
export async function channelRoutes(app: FastifyInstance): Promise<void> {
  app.get<{ Params: { username: string } }>('/api/channels/:username', { schema: { params: NameParams, response: { 200: ChannelBody, '4xx': ErrorBody } } }, async (request) => {
    const user = await findUserByUsername(app.db, request.params.username);
    if (!user || user.deleted_at !== null) throw new AppError('user_not_found', 'no such channel');
    const [open, past] = await Promise.all([listChannelStreams(app.db, user.id, { ended: false, limit: 1 }), listChannelStreams(app.db, user.id, { ended: true, limit: PAST_STREAMS })]);
    const current = open[0];
    return {
      channel: { id: user.id, username: user.username },
      current: current ? toStreamInfo(current, app.rooms.get(current.id)?.viewers.count) : null,
      past: past.map((s) => toStreamInfo(s)),
    };
  });
}
