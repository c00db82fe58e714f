import { batch, signal } from '@preact/signals';
import type { ChatSettings, Layer, ModerationActionType, ProducerInfo, Role, ServerMessage, ServerMessageOf } from '@redred/api/protocol';
import { LiveConnection, RequestError, liveSocketUrl, type RequestBody } from '../net/live-connection.ts';
import { createChatState } from './chat.ts';
import { createModerationLogState } from './moderation-log.ts';
import { createStreamState, type RoomUser } from './stream.ts';
import { createViewerListState } from './viewers.ts';

/** The page's media side (a viewer's Receiver or the studio's Publisher) hears the media messages. */
export interface MediaHandler {
  established(msg: ServerMessageOf<'connection_established'>): void;
  producerAdded(producer: ProducerInfo): void;
  producerRemoved(producerId: string): void;
  consumerClosed(consumerId: string): void;
  layerChanged(consumerId: string, layer: Layer): void;
  mediaReset(reason: string): void;
  /** The socket dropped: the server has closed this peer's transports. */
  disconnected(): void;
  streamEnded(): void;
}

export interface RoomNotice {
  id: number;
  tone: 'info' | 'error';
  text: string;
}

/** Roles a streamer (or moderator, as the server allows) can give. */
export type AssignableRole = 'moderator' | 'vip' | 'viewer';

type ModerationRequest = Extract<RequestBody, { type: ModerationActionType }>;

export const ROLE_LABEL: Record<Role, string> = {
  streamer: 'Streamer',
  moderator: 'Moderator',
  vip: 'VIP',
  viewer: 'Viewer',
  anonymous: 'Guest',
};

const NOTICE_MS = 5000;
const MODLOG_REFRESH_DEBOUNCE_MS = 400;

export interface LiveRoomOptions {
  /** Defaults to the same-origin `/ws/live/:id`. */
  url?: string;
  now?: () => number;
}

/**
 * One stream as this page sees it: the connection, and the state every server
 * message updates. All server messages pass through `dispatch`, where the
 * compiler checks that each type is handled.
 */
export function createLiveRoom(streamId: number, { url, now = Date.now }: LiveRoomOptions = {}) {
  const connection = new LiveConnection({ url: url ?? liveSocketUrl(streamId) });
  const stream = createStreamState();
  const chat = createChatState();
  const viewers = createViewerListState();
  const moderationLog = createModerationLogState();
  const notice = signal<RoomNotice | null>(null);
  let media: MediaHandler | null = null;
  let noticeSeq = 0;
  let noticeTimer: ReturnType<typeof setTimeout> | null = null;
  let modLogTimer: ReturnType<typeof setTimeout> | null = null;

  const isMe = (user: { id: number }) => stream.me.peek()?.id === user.id;

  function announce(tone: RoomNotice['tone'], text: string): void {
    notice.value = { id: ++noticeSeq, tone, text };
    if (noticeTimer !== null) clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => {
      noticeTimer = null;
      notice.value = null;
    }, NOTICE_MS);
  }

  function refreshModerationLogSoon(): void {
    if (!stream.isStaff.peek()) return;
    if (modLogTimer !== null) clearTimeout(modLogTimer);
    modLogTimer = setTimeout(() => {
      modLogTimer = null;
      void refreshModerationLog();
    }, MODLOG_REFRESH_DEBOUNCE_MS);
  }

  async function refreshViewers(search?: string): Promise<void> {
    if (!stream.isStaff.peek()) return;
    try {
      const page = await connection.request({ type: 'list_viewers', limit: 100, ...(search ? { search } : {}) }, 'viewer_list');
      viewers.replace(page.viewers, page.total, page.anonymous);
    } catch (err) {
      if (err instanceof RequestError && err.code !== 'disconnected') announce('error', `Viewer list: ${err.message}`);
    }
  }

  async function refreshModerationLog(): Promise<void> {
    if (!stream.isStaff.peek()) return;
    moderationLog.loading.value = true;
    try {
      const reply = await connection.request({ type: 'get_moderation_log', limit: 50 }, 'moderation_log');
      moderationLog.loaded(reply.entries);
    } catch (err) {
      moderationLog.failed(err instanceof Error ? err.message : 'the moderation log is unavailable');
    }
  }

  function roleChanged(user: RoomUser, role: Role): void {
    const wasStaff = stream.isStaff.peek();
    batch(() => {
      viewers.setRole(user.id, role);
      if (isMe(user)) stream.role.value = role;
    });
    chat.notice(role === 'viewer' ? `${user.username} is a viewer again` : `${user.username} is now ${role === 'vip' ? 'a VIP' : `a ${ROLE_LABEL[role].toLowerCase()}`}`, now());
    if (isMe(user) && stream.isStaff.peek() && !wasStaff) {
      void refreshViewers();
      void refreshModerationLog();
    }
    refreshModerationLogSoon();
  }

  function dispatch(msg: ServerMessage): void {
    switch (msg.type) {
      case 'connection_established':
        stream.established(msg, now());
        chat.settings.value = msg.chatSettings;
        media?.established(msg);
        if (stream.isStaff.peek()) {
          void refreshViewers();
          void refreshModerationLog();
        }
        return;
      case 'producer_added':
        media?.producerAdded(msg.producer);
        return;
      case 'producer_removed':
        media?.producerRemoved(msg.producerId);
        return;
      case 'consumer_closed':
        media?.consumerClosed(msg.consumerId);
        return;
      case 'layer_changed':
        media?.layerChanged(msg.consumerId, msg.layer);
        return;
      case 'media_reset':
        media?.mediaReset(msg.reason);
        return;
      case 'stream_live':
        stream.markLive(msg.startedAt);
        return;
      case 'publisher_status':
        stream.publisherStatus(msg.status, msg.until);
        return;
      case 'stream_ending_soon': {
        const at = new Date(stream.toLocalTime(msg.endsAt)).toLocaleTimeString();
        announce('info', `This stream reaches the site's maximum duration and ends at ${at}.`);
        chat.notice(`The stream ends at ${at} (maximum duration).`, now());
        return;
      }
      case 'stream_info':
        stream.setDetails(msg.title, msg.description);
        return;
      case 'recording_status':
        stream.setRecording(msg.recording, msg.reason);
        return;
      case 'stream_ended':
        stream.markEnded(msg.reason, msg.endedAt);
        media?.streamEnded();
        return;
      case 'viewers_update':
        stream.setViewers(msg.viewers, msg.peakViewers);
        return;
      case 'user_joined':
        viewers.joined(msg.users, msg.anonymous);
        return;
      case 'user_left':
        viewers.left(msg.users, msg.anonymous);
        return;
      case 'chat_history':
        chat.setHistory(msg.comments);
        return;
      case 'comment':
        chat.add(msg.comment);
        return;
      case 'comments':
        chat.add(...msg.comments);
        return;
      case 'comment_deleted':
        chat.remove(msg.commentIds);
        refreshModerationLogSoon();
        return;
      case 'chat_settings':
        chat.settings.value = msg.settings;
        refreshModerationLogSoon();
        return;
      case 'user_timed_out':
        if (isMe(msg.user)) chat.timedOut(stream.toLocalTime(msg.until), msg.reason);
        chat.notice(`${msg.user.username} was timed out${msg.reason ? `: ${msg.reason}` : ''}`, now());
        refreshModerationLogSoon();
        return;
      case 'user_kicked':
        chat.notice(`${msg.user.username} was removed from the stream${msg.reason ? `: ${msg.reason}` : ''}`, now());
        refreshModerationLogSoon();
        return;
      case 'user_banned':
        chat.notice(`${msg.user.username} was banned${msg.reason ? `: ${msg.reason}` : ''}`, now());
        refreshModerationLogSoon();
        return;
      case 'user_unbanned':
        if (stream.isStaff.peek()) chat.notice(`${msg.user.username} was unbanned`, now());
        refreshModerationLogSoon();
        return;
      case 'role_changed':
        roleChanged(msg.user, msg.role);
        return;
      case 'error':
        // Errors outside any request: rate limiting, or why the server refused the join.
        announce('error', msg.error.message);
        return;
      // Replies reach the request that asked; one arriving here was for a request that timed out.
      case 'offer':
      case 'produced':
      case 'ice_candidate':
      case 'ack':
      case 'comment_ack':
      case 'moderation_log':
      case 'viewer_list':
        return;
      default: {
        const unhandled: never = msg;
        console.warn('unhandled server message', unhandled);
      }
    }
  }

  const stopMessages = connection.onMessage(dispatch);
  const stopDisconnect = connection.onDisconnect(() => media?.disconnected());

  async function moderate(body: ModerationRequest, done: string): Promise<boolean> {
    try {
      await connection.request(body, 'ack');
      announce('info', done);
      return true;
    } catch (err) {
      announce('error', err instanceof Error ? err.message : 'the action failed');
      return false;
    }
  }

  return {
    streamId,
    connection,
    stream,
    chat,
    viewers,
    moderationLog,
    notice,
    /** Registers the page's media side (before the socket answers, so it sees `connection_established`). */
    attachMedia(handler: MediaHandler | null) {
      media = handler;
    },
    /** Sends a comment; on refusal the chat state says why (slow mode, timeout…). */
    async comment(content: string): Promise<boolean> {
      try {
        await connection.request({ type: 'comment', content }, 'comment_ack');
        chat.sent(now(), stream.isStaff.peek());
        return true;
      } catch (err) {
        if (err instanceof RequestError) chat.refused(err, now());
        return false;
      }
    },
    deleteComment: (commentId: number) => moderate({ type: 'delete_comment', commentId }, 'Comment deleted'),
    timeout: (user: RoomUser, durationSeconds: number, reason?: string) =>
      moderate({ type: 'timeout_user', userId: user.id, durationSeconds, ...(reason ? { reason } : {}) }, `${user.username} timed out`),
    kick: (user: RoomUser, reason?: string) => moderate({ type: 'kick_user', userId: user.id, ...(reason ? { reason } : {}) }, `${user.username} removed`),
    ban: (user: RoomUser, reason?: string) => moderate({ type: 'ban_user', userId: user.id, ...(reason ? { reason } : {}) }, `${user.username} banned`),
    unban: (user: RoomUser) => moderate({ type: 'unban_user', userId: user.id }, `${user.username} unbanned`),
    setRole(user: RoomUser & { role: Role }, role: AssignableRole): Promise<boolean> {
      if (role === 'moderator') return moderate({ type: 'add_moderator', userId: user.id }, `${user.username} is now a moderator`);
      if (role === 'vip') return moderate({ type: 'add_vip', userId: user.id }, `${user.username} is now a VIP`);
      if (user.role === 'moderator') return moderate({ type: 'remove_moderator', userId: user.id }, `${user.username} is no longer a moderator`);
      return moderate({ type: 'remove_vip', userId: user.id }, `${user.username} is no longer a VIP`);
    },
    updateChatSettings: (settings: Partial<ChatSettings>) => moderate({ type: 'update_chat_settings', settings }, 'Chat settings saved'),
    refreshViewers,
    refreshModerationLog,
    async endStream(): Promise<boolean> {
      try {
        await connection.request({ type: 'end_stream' }, 'ack');
        return true;
      } catch (err) {
        announce('error', err instanceof Error ? err.message : 'could not end the stream');
        return false;
      }
    },
    dispose() {
      stopMessages();
      stopDisconnect();
      media = null;
      if (noticeTimer !== null) clearTimeout(noticeTimer);
      if (modLogTimer !== null) clearTimeout(modLogTimer);
      connection.close();
    },
  };
}

export type LiveRoom = ReturnType<typeof createLiveRoom>;
