import { insertComments } from '@redred/db';
import { AppError } from '../errors.ts';
import type { ClientMessageOf } from '../protocol/client-messages.ts';
import type { WireComment } from '../protocol/common.ts';
import type { Role } from '../protocol/constants.ts';
import type { LiveConnection } from './connection.ts';
import type { LiveContext } from './context.ts';
import type { StreamRoom } from './room.ts';

export function toWireComment(
  c: { id: number; streamId: number; userId: number; content: string; highlighted: boolean; createdAt: number },
  username: string,
  role: Role,
): WireComment {
  return { id: c.id, streamId: c.streamId, author: { id: c.userId, username, role }, content: c.content, highlighted: c.highlighted, createdAt: c.createdAt };
}

export const chatHandlers = {
  async comment(ctx: LiveContext, room: StreamRoom, conn: LiveConnection, msg: ClientMessageOf<'comment'>) {
    if (!conn.user) throw new AppError('unauthorized', 'sign in to comment');
    const content = msg.content.trim();
    if (content.length === 0) throw new AppError('comment_empty', 'the comment is empty');
    const highlighted = conn.role === 'streamer' || conn.role === 'moderator' || conn.role === 'vip';
    const [stored] = await insertComments(ctx.db, [{ streamId: room.streamId, userId: conn.user.id, content, highlighted, now: ctx.now() }]);
    if (!stored) throw new AppError('internal', 'comment not stored');
    conn.send({ type: 'comment_ack', requestId: msg.requestId, commentId: stored.id, createdAt: stored.createdAt });
    room.broadcast({ type: 'comment', comment: toWireComment(stored, conn.user.username, conn.role) });
  },
};
