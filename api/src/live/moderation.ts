import { AppError } from '../errors.ts';
import type { ClientMessageOf, ClientMessageType } from '../protocol/client-messages.ts';
import type { LiveConnection } from './connection.ts';
import type { LiveContext } from './context.ts';
import type { StreamRoom } from './room.ts';

type ModerationType = Extract<ClientMessageType, 'delete_comment' | 'timeout_user' | 'kick_user' | 'ban_user' | 'unban_user' | 'add_moderator' | 'remove_moderator' | 'add_vip' | 'remove_vip' | 'update_chat_settings' | 'get_moderation_log'>;

type Handler<T extends ModerationType> = (ctx: LiveContext, room: StreamRoom, conn: LiveConnection, msg: ClientMessageOf<T>) => Promise<void>;

const notYet = async (): Promise<void> => {
  throw new AppError('forbidden', 'moderation is not available yet');
};

export const moderationHandlers: { [T in ModerationType]: Handler<T> } = {
  delete_comment: notYet,
  timeout_user: notYet,
  kick_user: notYet,
  ban_user: notYet,
  unban_user: notYet,
  add_moderator: notYet,
  remove_moderator: notYet,
  add_vip: notYet,
  remove_vip: notYet,
  update_chat_settings: notYet,
  get_moderation_log: notYet,
};
