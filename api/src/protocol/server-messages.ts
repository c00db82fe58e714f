import { Type, type Static, type TObject } from '@sinclair/typebox';
import {
  ChatSettingsSchema,
  CommentSchema,
  ConsumerOfferSchema,
  EntityId,
  IceServerSchema,
  LayerSchema,
  MediaId,
  ModerationLogEntrySchema,
  ProducerInfoSchema,
  RequestId,
  RoleSchema,
  StreamInfoSchema,
  TransportOfferSchema,
  UserRefSchema,
  ViewerEntrySchema,
  WireErrorSchema,
} from './common.ts';

const Reply = { requestId: RequestId };

/** Server → client. */
export const ServerMessageSchemas = {
  connection_established: Type.Object({
    type: Type.Literal('connection_established'),
    connectionId: Type.String(),
    role: RoleSchema,
    user: Type.Union([Type.Object({ id: EntityId, username: Type.String() }), Type.Null()]),
    stream: StreamInfoSchema,
    routerRtpCapabilities: Type.Unknown(),
    /**
     * For this connection's transports. Empty without TURN_URLS (the SFU is ICE-lite on
     * announced addresses: nothing to discover); with TURN, a relay with a credential that
     * expires TURN_CREDENTIAL_TTL_S from now, for networks that cannot reach the SFU directly.
     */
    iceServers: Type.Array(IceServerSchema),
    producers: Type.Array(ProducerInfoSchema),
    chatSettings: ChatSettingsSchema,
    /** Server time at connect, to align clocks for countdowns. */
    serverTime: Type.Integer(),
    /** Heartbeat period: a socket that misses pongs for two periods is closed. */
    heartbeatMs: Type.Integer(),
  }),
  offer: Type.Union([
    Type.Object({ type: Type.Literal('offer'), ...Reply, kind: Type.Literal('transport'), direction: Type.Union([Type.Literal('send'), Type.Literal('recv')]), transport: TransportOfferSchema }),
    Type.Object({ type: Type.Literal('offer'), ...Reply, kind: Type.Literal('consumer'), consumer: ConsumerOfferSchema }),
  ]),
  produced: Type.Object({ type: Type.Literal('produced'), ...Reply, producerId: MediaId }),
  ice_candidate: Type.Object({
    type: Type.Literal('ice_candidate'),
    ...Reply,
    transportId: MediaId,
    iceParameters: Type.Unknown(),
    candidates: Type.Array(Type.Unknown()),
  }),
  /** Generic success reply for requests that return nothing else. */
  ack: Type.Object({ type: Type.Literal('ack'), ...Reply }),
  error: Type.Object({ type: Type.Literal('error'), requestId: Type.Optional(RequestId), error: WireErrorSchema }),

  producer_added: Type.Object({ type: Type.Literal('producer_added'), producer: ProducerInfoSchema }),
  producer_removed: Type.Object({ type: Type.Literal('producer_removed'), producerId: MediaId }),
  consumer_closed: Type.Object({ type: Type.Literal('consumer_closed'), consumerId: MediaId }),
  layer_changed: Type.Object({ type: Type.Literal('layer_changed'), consumerId: MediaId, layer: LayerSchema }),
  /**
   * The SFU lost media (a worker died) and rebuilt it. scope 'all': the streamer republishes and
   * viewers re-consume; scope 'viewers': only this viewer's router was lost, it re-consumes.
   */
  media_reset: Type.Object({ type: Type.Literal('media_reset'), reason: Type.String(), scope: Type.Union([Type.Literal('all'), Type.Literal('viewers')]) }),
  stream_live: Type.Object({ type: Type.Literal('stream_live'), startedAt: Type.Integer() }),
  stream_ended: Type.Object({ type: Type.Literal('stream_ended'), reason: Type.String(), endedAt: Type.Integer() }),
  /** The live stream's publisher dropped ('reconnecting': the stream ends at `until` unless it returns) or is back ('publishing'). */
  publisher_status: Type.Object({ type: Type.Literal('publisher_status'), status: Type.Union([Type.Literal('reconnecting'), Type.Literal('publishing')]), until: Type.Union([Type.Integer(), Type.Null()]) }),
  /** To the streamer and moderators: the stream will be ended at `endsAt` by the site's maximum duration (sent once, 10 minutes before). */
  stream_ending_soon: Type.Object({ type: Type.Literal('stream_ending_soon'), reason: Type.Literal('max_duration'), endsAt: Type.Integer() }),
  /** The streamer edited the stream's title or description. */
  /** The stream's recorder started or stopped; `reason` says why it stopped early (e.g. `disk_low`). */
  recording_status: Type.Object({ type: Type.Literal('recording_status'), recording: Type.Boolean(), reason: Type.Optional(Type.String()) }),
  stream_info: Type.Object({ type: Type.Literal('stream_info'), title: Type.String(), description: Type.String() }),

  /** One new comment: a flush of the room's chat that holds exactly one. */
  comment: Type.Object({ type: Type.Literal('comment'), comment: CommentSchema }),
  /** Several new comments at once, oldest first: one frame per flush (at most one per `CHAT_FLUSH_MS` per stream). */
  comments: Type.Object({ type: Type.Literal('comments'), comments: Type.Array(CommentSchema, { minItems: 2 }) }),
  comment_ack: Type.Object({ type: Type.Literal('comment_ack'), ...Reply, commentId: EntityId, createdAt: Type.Integer() }),
  chat_history: Type.Object({ type: Type.Literal('chat_history'), comments: Type.Array(CommentSchema) }),
  comment_deleted: Type.Object({ type: Type.Literal('comment_deleted'), commentIds: Type.Array(EntityId), by: Type.Object({ id: EntityId, username: Type.String() }) }),
  user_timed_out: Type.Object({ type: Type.Literal('user_timed_out'), user: Type.Object({ id: EntityId, username: Type.String() }), until: Type.Integer(), reason: Type.String() }),
  user_kicked: Type.Object({ type: Type.Literal('user_kicked'), user: Type.Object({ id: EntityId, username: Type.String() }), reason: Type.String(), blockedUntil: Type.Integer() }),
  user_banned: Type.Object({ type: Type.Literal('user_banned'), user: Type.Object({ id: EntityId, username: Type.String() }), reason: Type.String() }),
  user_unbanned: Type.Object({ type: Type.Literal('user_unbanned'), user: Type.Object({ id: EntityId, username: Type.String() }) }),
  role_changed: Type.Object({ type: Type.Literal('role_changed'), user: Type.Object({ id: EntityId, username: Type.String() }), role: RoleSchema }),
  chat_settings: Type.Object({ type: Type.Literal('chat_settings'), settings: ChatSettingsSchema }),
  moderation_log: Type.Object({ type: Type.Literal('moderation_log'), ...Reply, entries: Type.Array(ModerationLogEntrySchema) }),

  viewers_update: Type.Object({ type: Type.Literal('viewers_update'), viewers: Type.Integer(), peakViewers: Type.Integer() }),
  /** To the streamer and moderators only; batched (one message per flush). */
  user_joined: Type.Object({ type: Type.Literal('user_joined'), users: Type.Array(ViewerEntrySchema), anonymous: Type.Integer(), at: Type.Integer() }),
  user_left: Type.Object({ type: Type.Literal('user_left'), users: Type.Array(UserRefSchema), anonymous: Type.Integer(), at: Type.Integer() }),
  viewer_list: Type.Object({
    type: Type.Literal('viewer_list'),
    ...Reply,
    total: Type.Integer(),
    anonymous: Type.Integer(),
    offset: Type.Integer(),
    viewers: Type.Array(ViewerEntrySchema),
  }),
} satisfies Record<string, TObject | ReturnType<typeof Type.Union>>;

export type ServerMessageType = keyof typeof ServerMessageSchemas;
export type ServerMessageOf<T extends ServerMessageType> = Static<(typeof ServerMessageSchemas)[T]>;
export type ServerMessage = { [T in ServerMessageType]: ServerMessageOf<T> }[ServerMessageType];
