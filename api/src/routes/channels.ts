import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { channelModerationLists, findUserByUsername, listChannelStreams } from '@redred/db';
import { assertCan, resolveRole } from '../live/policy.ts';
import { requireUser } from '../plugins/auth.ts';
import { AppError } from '../errors.ts';
import { ChannelBody, ErrorBody, ModerationListsBody } from '../protocol/rest.ts';
import { toStreamInfo } from './streams.ts';

const PAST_STREAMS = 20;
const NameParams = Type.Object({ username: Type.String({ minLength: 1, maxLength: 64 }) });

/** A stable address per streamer: what is on now, and what was. */
const ChannelIdParams = Type.Object({ channelId: Type.String({ pattern: '^[1-9][0-9]{0,15}$' }) });

export async function channelRoutes(app: FastifyInstance, opts: { now: () => number }): Promise<void> {
  // Route types come from the TypeBox schemas (params, query, body, responses), never written twice.
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.get('/api/moderation/:channelId', { schema: { params: ChannelIdParams, response: { 200: ModerationListsBody, '4xx': ErrorBody } } }, async (request) => {
    const user = requireUser(request);
    const channelId = Number(request.params.channelId);
    // The channel's staff only, by the policy table like every moderation decision.
    assertCan(await resolveRole(app.db, channelId, user.id), 'view_moderation_lists');
    return channelModerationLists(app.db, channelId, opts.now());
  });

  r.get('/api/channels/:username', { schema: { params: NameParams, response: { 200: ChannelBody, '4xx': ErrorBody } } }, async (request) => {
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
