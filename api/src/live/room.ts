import { getChatSettings, type LiveStream, type StreamStatus } from '@redred/db';
import type { StreamRouter } from '@redred/sfu';
import type { ChatSettings, StreamInfo } from '../protocol/common.ts';
import { CLOSE_CODES } from '../protocol/constants.ts';
import type { ServerMessage } from '../protocol/server-messages.ts';
import type { RoomEnvelope, RoomEvent, RoomSubscription } from './bus.ts';
import { chatSettingsFor, RoomChat } from './chat.ts';
import type { ChatCursor } from './chat-feed.ts';
import type { LiveConnection } from './connection.ts';
import type { LiveContext } from './context.ts';
import { ClusterStreamMedia } from '../cluster/stream-media.ts';
import { ModerationGate } from './gate.ts';
import { endStream } from './lifecycle.ts';
import { END_REASONS } from './stream-rules.ts';
import { can } from './policy.ts';
import { RoomPresence } from './presence.ts';
import { PublisherWatch } from './publisher-watch.ts';
import { isStaff, RoomSockets, type RoomMember } from './room-sockets.ts';
import type { ViewerCounter } from './viewers.ts';

/**
 * The live state of one stream in this process. It owns its sockets, its SFU
 * router, its chat (with the comment writer), its moderation gate and its
 * audience, and closes them with itself.
 *
 * Sockets hear only from the room bus: handlers publish RoomEvents with
 * `publish()`, and `#deliver` — the bus subscription — applies each one to this
 * process's copy of the room and sends the messages it implies. Direct replies
 * to a request (acks, offers, errors) go to the requesting socket only.
 */
export class StreamRoom {
  readonly streamId: number;
  /** The channel is the streamer's account: roles and bans live there. */
  readonly channelId: number;
  readonly streamerName: string;
  status: StreamStatus;
  title: string;
  description: string;
  readonly createdAt: number;
  startedAt: number | null;
  endedAt: number | null = null;
  chatSettings: ChatSettings;
  readonly gate: ModerationGate;
  readonly chat: RoomChat;
  readonly presence: RoomPresence;
  readonly publisher: PublisherWatch;
  /** Set while the stream is live and its publisher is gone: when the stream ends unless it comes back. */
  reconnectingUntil: number | null = null;
  /** A recorder is writing this stream now (the viewers' badge). */
  recording = false;
  /** Why recording stopped (disk_low), for viewers who join after the `recording_status` that said so. */
  recordingStopReason: string | null = null;
  /** Cluster mode: where the stream's media comes from (this node or another), and the pipes between them. */
  readonly cluster: ClusterStreamMedia | null;
  readonly #sockets = new RoomSockets((c) => this.chat.hasHistory(c));
  readonly #media: StreamRouter;
  readonly #ctx: LiveContext;
  readonly #subscription: RoomSubscription;
  #closed = false;
  /** The last re-read of the chat settings (cluster mode). */
  #settingsRead: Promise<void> = Promise.resolve();
  /** Settles when the comment writer has answered for every comment admitted before close. */
  #drained: Promise<void> = Promise.resolve();
  /** Listeners the owner attaches (e.g. the registry drops the room). */
  onClose: (() => void) | null = null;

  constructor(ctx: LiveContext, stream: LiveStream & { streamer_username: string }, media: StreamRouter, chatSettings: ChatSettings, chatStart: ChatCursor) {
    this.#ctx = ctx;
    this.streamId = stream.id;
    this.channelId = stream.streamer_id;
    this.streamerName = stream.streamer_username;
    this.status = stream.status;
    this.title = stream.title;
    this.description = stream.description;
    this.createdAt = stream.created_at;
    this.startedAt = stream.started_at;
    this.chatSettings = chatSettings;
    this.#media = media;
    this.gate = new ModerationGate(ctx.db, this.channelId, ctx.site);
    this.chat = new RoomChat(ctx, this, chatStart);
    this.presence = new RoomPresence(ctx, {
      streamId: this.streamId,
      peakViewers: stream.peak_viewers,
      publish: (event) => this.publish(event),
      isLive: () => this.status === 'live',
    });
    this.publisher = new PublisherWatch(ctx, this);
    this.cluster =
      ctx.cluster && ctx.origins && ctx.config.cluster.secret
        ? new ClusterStreamMedia({
            streamId: this.streamId,
            node: ctx.cluster,
            origins: ctx.origins,
            media,
            secret: ctx.config.cluster.secret,
            pipeListenIp: ctx.config.rtcListenIp,
            mediaAddress: ctx.config.cluster.mediaAddress ?? ctx.config.rtcAnnouncedAddress ?? ctx.config.rtcListenIp,
            pipeLingerMs: ctx.config.cluster.pipeLingerMs,
            graceMs: ctx.config.sweeper.restartGraceMs,
            log: ctx.log.child({ module: 'cluster-media', streamId: this.streamId }),
            now: ctx.now,
            publish: (event) => this.publish(event),
            sendLocal: (message) => this.#sockets.send(message, { to: 'all' }),
            endOrphaned: async () => {
              await endStream(ctx, this, this.streamId, END_REASONS.serverRestart);
            },
          })
        : null;
    this.#subscription = ctx.bus.subscribe(this.streamId, (envelope) => this.#deliver(envelope));
  }

  get media(): StreamRouter {
    return this.#media;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get viewers(): ViewerCounter {
    return this.presence.viewers;
  }

  get peakViewers(): number {
    return this.presence.peakViewers;
  }

  get connectionCount(): number {
    return this.#sockets.size;
  }

  connections(): IterableIterator<LiveConnection> {
    return this.#sockets.values();
  }

  connection(id: string): LiveConnection | undefined {
    return this.#sockets.get(id);
  }

  streamer(): LiveConnection | undefined {
    return this.#sockets.streamer();
  }

  /** The streamer is here: their socket (browser studio), or their encoder (WHIP). */
  streamerPresent(): boolean {
    return this.#sockets.streamerPresent();
  }

  info(): StreamInfo {
    return {
      id: this.streamId,
      title: this.title,
      description: this.description,
      status: this.status,
      streamer: { id: this.channelId, username: this.streamerName },
      viewers: this.presence.count,
      peakViewers: this.peakViewers,
      startedAt: this.startedAt,
      endedAt: this.endedAt,
      createdAt: this.createdAt,
      ...(this.reconnectingUntil !== null ? { reconnectingUntil: this.reconnectingUntil } : {}),
      ...(this.recording ? { recording: true } : {}),
      ...(this.recordingStopReason ? { recordingStopReason: this.recordingStopReason } : {}),
    };
  }

  /** Everything that reaches more than the requesting socket goes through here. */
  publish(event: RoomEvent): void {
    if (this.#closed) return;
    this.#ctx.bus.publish(this.streamId, event);
  }

  add(conn: LiveConnection): void {
    this.#sockets.add(conn);
    this.presence.join(conn);
  }

  remove(conn: LiveConnection): void {
    if (!this.#sockets.delete(conn)) return;
    this.chat.forget(conn);
    this.#media.closePeer(conn.id);
    this.presence.leave(conn);
  }

  addMember(member: RoomMember): void {
    this.#sockets.addMember(member);
    this.presence.join(member);
  }

  removeMember(member: RoomMember): void {
    if (!this.#sockets.deleteMember(member)) return;
    this.presence.leave(member);
  }

  /** Viewer counts and joins/leaves now, not at the next coalesced flush (tests, shutdown). */
  flushPresence(): Promise<void> {
    return this.presence.flush();
  }

  /**
   * Closes sockets, media, presence and the bus subscription, and refuses new
   * comments. Idempotent. Does not touch the stream's row; comments admitted
   * before are still committed (`drained()` settles when they are).
   */
  close(closeCode: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#subscription.close();
    this.publisher.close();
    this.presence.close();
    this.cluster?.close();
    this.#drained = this.chat.close();
    this.#sockets.close(closeCode, reason);
    this.#media.close();
    this.onClose?.();
  }

  drained(): Promise<void> {
    return this.#drained;
  }

  /**
   * The end is durable: every copy of the room tells its sockets and closes.
   * This one closes even if the bus cannot bring the event back (Redis down):
   * once the bus has delivered what this node published, or after a bound.
   */
  end(reason: string, endedAt: number): void {
    if (this.#closed) return;
    const event: RoomEvent = { kind: 'stream_ended', reason, endedAt };
    try {
      this.publish(event);
    } catch (err) {
      this.#ctx.log.warn({ err, streamId: this.streamId }, 'stream end not published on the room bus');
    }
    if (this.#closed) return;
    const delivered = this.#ctx.bus.flush();
    const bound = new Promise<void>((resolve) => setTimeout(resolve, END_DELIVERY_WAIT_MS).unref());
    void Promise.race([delivered, bound])
      .catch(() => undefined)
      .then(() => {
        if (!this.#closed) this.#deliver({ streamId: this.streamId, seq: 0, event });
      });
  }

  #deliver({ event }: RoomEnvelope): void {
    switch (event.kind) {
      case 'message':
        if (event.message.type === 'comment_deleted') this.chat.feed.hide(event.message.commentIds);
        return this.#sockets.send(event.message, event.audience);
      case 'comments':
        return this.chat.feed.accept(event.from, event.comments);
      case 'origin':
        return this.cluster?.applyOrigin(event.nodeId, event.producers);
      case 'viewers':
        this.presence.announced(event.viewers, event.peakViewers);
        return this.#sockets.send({ type: 'viewers_update', viewers: event.viewers, peakViewers: event.peakViewers }, { to: 'all' });
      case 'stream_live':
        this.status = 'live';
        this.startedAt = event.startedAt;
        return this.#sockets.send({ type: 'stream_live', startedAt: event.startedAt }, { to: 'all' });
      case 'publisher':
        this.reconnectingUntil = event.state === 'reconnecting' ? event.until : null;
        return this.#sockets.send({ type: 'publisher_status', status: event.state, until: event.until }, { to: 'all' });
      case 'stream_info':
        this.title = event.title;
        this.description = event.description;
        return this.#sockets.send({ type: 'stream_info', title: event.title, description: event.description }, { to: 'all' });
      case 'recording':
        this.recording = event.recording;
        this.recordingStopReason = event.recording ? null : (event.reason ?? null);
        return this.#sockets.send({ type: 'recording_status', recording: event.recording, ...(event.reason ? { reason: event.reason } : {}) }, { to: 'all' });
      case 'stream_ended':
        this.status = 'ended';
        this.endedAt = event.endedAt;
        this.#sockets.send({ type: 'stream_ended', reason: event.reason, endedAt: event.endedAt }, { to: 'all' });
        return this.close(CLOSE_CODES.streamEnded, 'stream ended');
      case 'chat_settings':
        // Cluster mode: two nodes' changes may reach the bus in another order than they committed
        // (each merged over the previous one, under the channel's lock): what is stored is the latest.
        if (this.cluster) return void this.#settingsRead.then(() => this.#rereadChatSettings(event.settings));
        return this.#applyChatSettings(event.settings);
      case 'role_changed': {
        const changed: LiveConnection[] = [];
        for (const c of this.#sockets.connectionsOfUser(event.user.id)) {
          if (isStaff(c) !== can(event.role, 'update_chat_settings')) changed.push(c);
          c.role = event.role;
        }
        this.presence.setRole(event.user.id, event.role);
        this.#sockets.send({ type: 'role_changed', user: event.user, role: event.role }, { to: 'all' });
        // Gaining or losing moderation changes which chat settings the socket may see.
        for (const c of changed) c.send({ type: 'chat_settings', settings: chatSettingsFor(c.role, this.chatSettings) });
        return;
      }
      case 'restricted': {
        const { user, reason, until } = event;
        this.gate.noteRestriction(user.id, event.restriction, until);
        // Everyone learns first, the restricted sockets included; then kicked or banned ones are closed.
        if (event.restriction === 'timeout') {
          return this.#sockets.send({ type: 'user_timed_out', user, until: until ?? 0, reason }, { to: 'all' });
        }
        if (event.restriction === 'kick') {
          this.#sockets.send({ type: 'user_kicked', user, reason, blockedUntil: until ?? 0 }, { to: 'all' });
          for (const c of this.#sockets.connectionsOfUser(user.id)) c.close(CLOSE_CODES.kicked, 'kicked');
          for (const m of this.#sockets.membersOfUser(user.id)) m.close('kicked');
          return;
        }
        this.#sockets.send({ type: 'user_banned', user, reason }, { to: 'all' });
        for (const c of this.#sockets.connectionsOfUser(user.id)) c.close(CLOSE_CODES.banned, 'banned');
        for (const m of this.#sockets.membersOfUser(user.id)) m.close('banned');
        return;
      }
      case 'media_reset': {
        const affected = event.connectionIds === null ? null : new Set(event.connectionIds);
        const message: ServerMessage = { type: 'media_reset', reason: event.reason, scope: event.scope };
        return this.#sockets.sendWhere(message, (c) => {
          if (affected && !affected.has(c.id)) return false;
          // Their transports are gone: the per-connection allowance starts again.
          c.transports = 0;
          return true;
        });
      }
      default: {
        const unknown: never = event;
        throw new Error(`unknown room event ${JSON.stringify(unknown)}`);
      }
    }
  }

  #applyChatSettings(settings: ChatSettings): void {
    this.chatSettings = settings;
    this.#sockets.send({ type: 'chat_settings', settings }, { to: 'staff' });
    this.#sockets.sendWhere({ type: 'chat_settings', settings: chatSettingsFor('viewer', settings) }, (c) => !isStaff(c));
  }

  /** One read at a time, in the order the events came. */
  #rereadChatSettings(announced: ChatSettings): Promise<void> {
    this.#settingsRead = getChatSettings(this.#ctx.db, this.channelId).then(
      (stored) => {
        if (!this.#closed) this.#applyChatSettings(stored);
      },
      (err: unknown) => {
        this.#ctx.log.warn({ err, streamId: this.streamId }, 'could not re-read chat settings; applying the announced ones');
        if (!this.#closed) this.#applyChatSettings(announced);
      },
    );
    return this.#settingsRead;
  }

  /** The accounts holding sockets or members here (the streamer's own encoder aside), with their names. */
  accounts(): Map<number, string> {
    return this.#sockets.accounts();
  }

  /** A restriction found stored whose event never came here (the room bus lost it): applied as if it had come. */
  applyRestriction(event: Extract<RoomEvent, { kind: 'restricted' }>): void {
    if (!this.#closed) this.#deliver({ streamId: this.streamId, seq: 0, event });
  }

  /** Closes this user's sockets here (their sessions ended: signed out, disabled, deleted). */
  disconnectUser(userId: number, code: number, reason: string): void {
    for (const c of this.#sockets.connectionsOfUser(userId)) c.close(code, reason);
  }
}

/** How long an ended room waits for the bus to bring its end back before it closes on its own. */
const END_DELIVERY_WAIT_MS = 2000;
