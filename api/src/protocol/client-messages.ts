import { Type, type Static, type TObject } from '@sinclair/typebox';
import { LIMITS } from './constants.ts';
import {
  ChatSettingsSchema,
  DtlsParametersSchema,
  EntityId,
  LayerSchema,
  MediaId,
  MediaSourceSchema,
  RequestId,
  RtpCapabilitiesSchema,
  RtpParametersSchema,
} from './common.ts';

const Reason = Type.String({ maxLength: LIMITS.reasonMaxLength });

/** Moderation actions (streamer and moderators, as the policy allows): each answered by `ack` or an `error`. */
export const ModerationActionSchemas = {
  delete_comment: Type.Object({ type: Type.Literal('delete_comment'), requestId: RequestId, commentId: EntityId }),
  timeout_user: Type.Object({
    type: Type.Literal('timeout_user'),
    requestId: RequestId,
    userId: EntityId,
    durationSeconds: Type.Integer({ minimum: LIMITS.timeoutMinSeconds, maximum: LIMITS.timeoutMaxSeconds }),
    reason: Type.Optional(Reason),
  }),
  kick_user: Type.Object({ type: Type.Literal('kick_user'), requestId: RequestId, userId: EntityId, reason: Type.Optional(Reason) }),
  ban_user: Type.Object({ type: Type.Literal('ban_user'), requestId: RequestId, userId: EntityId, reason: Type.Optional(Reason) }),
  unban_user: Type.Object({ type: Type.Literal('unban_user'), requestId: RequestId, userId: EntityId }),
  add_moderator: Type.Object({ type: Type.Literal('add_moderator'), requestId: RequestId, userId: EntityId }),
  remove_moderator: Type.Object({ type: Type.Literal('remove_moderator'), requestId: RequestId, userId: EntityId }),
  add_vip: Type.Object({ type: Type.Literal('add_vip'), requestId: RequestId, userId: EntityId }),
  remove_vip: Type.Object({ type: Type.Literal('remove_vip'), requestId: RequestId, userId: EntityId }),
  update_chat_settings: Type.Object({
    type: Type.Literal('update_chat_settings'),
    requestId: RequestId,
    settings: Type.Partial(ChatSettingsSchema),
  }),
} satisfies Record<string, TObject>;

export type ModerationActionType = keyof typeof ModerationActionSchemas;

/**
 * Client → server. Every message that expects an answer carries a `requestId`;
 * the server echoes it on the reply (`offer`, `produced`, `ack`, `comment_ack`,
 * `viewer_list`, `moderation_log`) or on an `error`.
 */
export const ClientMessageSchemas = {
  // --- media signaling (the SFU is the peer) ---
  /** Ask the SFU for a WebRTC transport; answered by an `offer` of kind `transport`. */
  create_transport: Type.Object({
    type: Type.Literal('create_transport'),
    requestId: RequestId,
    direction: Type.Union([Type.Literal('send'), Type.Literal('recv')]),
  }),
  /** `connect`: the peer's DTLS parameters for a transport. `produce`: RTP parameters of a new producer (streamer only). */
  answer: Type.Union([
    Type.Object({
      type: Type.Literal('answer'),
      requestId: RequestId,
      kind: Type.Literal('connect'),
      transportId: MediaId,
      dtlsParameters: DtlsParametersSchema,
    }),
    Type.Object({
      type: Type.Literal('answer'),
      requestId: RequestId,
      kind: Type.Literal('produce'),
      transportId: MediaId,
      mediaKind: Type.Union([Type.Literal('audio'), Type.Literal('video')]),
      source: MediaSourceSchema,
      rtpParameters: RtpParametersSchema,
    }),
  ]),
  /** Ask to receive a producer; answered by an `offer` of kind `consumer` (paused until `resume_consumer`). */
  consume: Type.Object({
    type: Type.Literal('consume'),
    requestId: RequestId,
    transportId: MediaId,
    producerId: MediaId,
    rtpCapabilities: RtpCapabilitiesSchema,
  }),
  resume_consumer: Type.Object({ type: Type.Literal('resume_consumer'), requestId: RequestId, consumerId: MediaId }),
  set_layer: Type.Object({ type: Type.Literal('set_layer'), requestId: RequestId, consumerId: MediaId, layer: LayerSchema }),
  /** Answered by an `ice_candidate` carrying the new ICE parameters and the server's candidates. */
  restart_ice: Type.Object({ type: Type.Literal('restart_ice'), requestId: RequestId, transportId: MediaId }),
  /** Accepted and ignored: the SFU is ICE-lite and learns the peer's address from its checks. */
  ice_candidate: Type.Object({
    type: Type.Literal('ice_candidate'),
    transportId: MediaId,
    candidate: Type.Union([Type.String({ maxLength: 1024 }), Type.Object({}, { additionalProperties: true }), Type.Null()]),
  }),
  close_producer: Type.Object({ type: Type.Literal('close_producer'), requestId: RequestId, producerId: MediaId }),
  end_stream: Type.Object({ type: Type.Literal('end_stream'), requestId: RequestId }),

  // --- chat ---
  comment: Type.Object({ type: Type.Literal('comment'), requestId: RequestId, content: Type.String({ maxLength: 4096 }) }),

  // --- moderation ---
  ...ModerationActionSchemas,
  get_moderation_log: Type.Object({
    type: Type.Literal('get_moderation_log'),
    requestId: RequestId,
    beforeId: Type.Optional(EntityId),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
  }),
  /** The streamer's and moderators' viewer list: paged and searchable for large audiences. */
  list_viewers: Type.Object({
    type: Type.Literal('list_viewers'),
    requestId: RequestId,
    search: Type.Optional(Type.String({ maxLength: 32 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: LIMITS.viewerListPageMax })),
  }),
} satisfies Record<string, TObject | ReturnType<typeof Type.Union>>;

export type ClientMessageType = keyof typeof ClientMessageSchemas;
export const CLIENT_MESSAGE_TYPES = Object.keys(ClientMessageSchemas) as ClientMessageType[];

export type ClientMessageOf<T extends ClientMessageType> = Static<(typeof ClientMessageSchemas)[T]>;
export type ClientMessage = { [T in ClientMessageType]: ClientMessageOf<T> }[ClientMessageType];
/** Client messages that expect a reply. */
export type ClientRequest = Extract<ClientMessage, { requestId: string }>;
