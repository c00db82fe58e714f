import { AppError } from '../errors.ts';
import type { ClientMessageOf } from '../protocol/client-messages.ts';
import type { LiveConnection } from './connection.ts';
import type { LiveContext } from './context.ts';
import type { StreamRoom } from './room.ts';
import { can } from './policy.ts';

export const viewerHandlers = {
  async list_viewers(_ctx: LiveContext, room: StreamRoom, conn: LiveConnection, msg: ClientMessageOf<'list_viewers'>) {
    if (!can(conn.role, 'view_viewer_list')) throw new AppError('forbidden', 'only the streamer and moderators see the viewer list');
    const offset = msg.offset ?? 0;
    const page = await room.presence.list({ search: msg.search, offset, limit: msg.limit ?? 50 });
    conn.send({ type: 'viewer_list', requestId: msg.requestId, total: page.total, anonymous: page.anonymous, offset, viewers: page.viewers });
  },
};
