import { Type, type Static } from '@sinclair/typebox';
import { LAYERS, MEDIA_SOURCES, ROLES } from './constants.ts';
import { ERROR_CODES } from './errors.ts';

const literals = <T extends readonly string[]>(values: T) => Type.Union(values.map((v) => Type.Literal(v))) as unknown as import('@sinclair/typebox').TUnion<{ [K in keyof T]: import('@sinclair/typebox').TLiteral<T[K]> }[number][]>;

export const RoleSchema = literals(ROLES);
export const LayerSchema = literals(LAYERS);
export const MediaSourceSchema = literals(MEDIA_SOURCES);
const ErrorCodeSchema = literals(ERROR_CODES);

export const RequestId = Type.String({ minLength: 1, maxLength: 64 });
export const MediaId = Type.String({ minLength: 1, maxLength: 64 });
export const EntityId = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });

/** Bounded but otherwise open: mediasoup validates the inside and we wrap its errors. */
const Loose = <P extends Parameters<typeof Type.Object>[0]>(props: P) => Type.Object(props, { additionalProperties: true });

export const DtlsParametersSchema = Loose({
  role: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('client'), Type.Literal('server')])),
  fingerprints: Type.Array(Loose({ algorithm: Type.String({ maxLength: 32 }), value: Type.String({ maxLength: 256 }) }), {
    minItems: 1,
    maxItems: 8,
  }),
});

export const RtpParametersSchema = Loose({
  mid: Type.Optional(Type.String({ maxLength: 32 })),
  codecs: Type.Array(Loose({ mimeType: Type.String({ maxLength: 64 }), payloadType: Type.Integer(), clockRate: Type.Integer() }), {
    minItems: 1,
    maxItems: 16,
  }),
  headerExtensions: Type.Optional(Type.Array(Loose({ uri: Type.String({ maxLength: 256 }), id: Type.Integer() }), { maxItems: 32 })),
  encodings: Type.Optional(Type.Array(Loose({}), { maxItems: 8 })),
  rtcp: Type.Optional(Loose({})),
});

const MediaKindSchema = Type.Union([Type.Literal('audio'), Type.Literal('video')]);

export const RtpCapabilitiesSchema = Loose({
  codecs: Type.Optional(Type.Array(Loose({ mimeType: Type.String({ maxLength: 64 }), kind: MediaKindSchema, clockRate: Type.Integer() }), { maxItems: 64 })),
  headerExtensions: Type.Optional(
    Type.Array(Loose({ kind: MediaKindSchema, uri: Type.String({ maxLength: 256 }), preferredId: Type.Integer() }), { maxItems: 64 }),
  ),
});

export const UserRefSchema = Type.Object({
  id: EntityId,
  username: Type.String(),
  role: RoleSchema,
});
export type UserRef = Static<typeof UserRefSchema>;

export const ProducerInfoSchema = Type.Object({
  id: MediaId,
  kind: Type.Union([Type.Literal('audio'), Type.Literal('video')]),
  source: MediaSourceSchema,
});
export type ProducerInfo = Static<typeof ProducerInfoSchema>;

export const ChatSettingsSchema = Type.Object({
  slowModeSeconds: Type.Integer({ minimum: 0, maximum: 120 }),
  blockedWords: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 200 }),
  accountsOnly: Type.Boolean(),
});
export type ChatSettings = Static<typeof ChatSettingsSchema>;

export const CommentSchema = Type.Object({
  id: EntityId,
  streamId: EntityId,
  author: UserRefSchema,
  content: Type.String(),
  highlighted: Type.Boolean(),
  /** Server time, ms since the epoch. */
  createdAt: Type.Integer(),
});
export type WireComment = Static<typeof CommentSchema>;

export const ViewerEntrySchema = Type.Object({
  id: EntityId,
  username: Type.String(),
  role: RoleSchema,
  /** When this person joined (first of their sockets). */
  since: Type.Integer(),
});
export type ViewerEntry = Static<typeof ViewerEntrySchema>;

export const StreamInfoSchema = Type.Object({
  id: EntityId,
  title: Type.String(),
  description: Type.String(),
  status: Type.Union([Type.Literal('waiting'), Type.Literal('live'), Type.Literal('ended')]),
  streamer: Type.Object({ id: EntityId, username: Type.String() }),
  viewers: Type.Integer(),
  peakViewers: Type.Integer(),
  startedAt: Type.Union([Type.Integer(), Type.Null()]),
  endedAt: Type.Union([Type.Integer(), Type.Null()]),
  createdAt: Type.Integer(),
  /** Present while the live stream's publisher is gone: the stream ends at this time unless it comes back. */
  reconnectingUntil: Type.Optional(Type.Integer()),
  /** Why an ended stream ended (`streamer_ended`, `admin_ended: <words>`, …); REST only. */
  endReason: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  /** The stream is being recorded now (viewers show a badge). */
  recording: Type.Optional(Type.Boolean()),
  /** Recording stopped for good with this reason (`disk_low`), as the last `recording_status` said; WebSocket snapshot only. */
  recordingStopReason: Type.Optional(Type.String()),
});
export type StreamInfo = Static<typeof StreamInfoSchema>;

export const StreamStatsSchema = Type.Object({
  streamId: EntityId,
  status: Type.Union([Type.Literal('waiting'), Type.Literal('live'), Type.Literal('ended')]),
  viewers: Type.Integer(),
  peakViewers: Type.Integer(),
  durationMs: Type.Integer(),
  commentsCount: Type.Integer(),
  uniqueViewers: Type.Integer(),
  averageViewers: Type.Number(),
  startedAt: Type.Union([Type.Integer(), Type.Null()]),
  endedAt: Type.Union([Type.Integer(), Type.Null()]),
  series: Type.Array(Type.Object({ at: Type.Integer(), viewers: Type.Integer() })),
});
export type StreamStats = Static<typeof StreamStatsSchema>;

export const ModerationLogEntrySchema = Type.Object({
  id: EntityId,
  action: Type.String(),
  reason: Type.String(),
  details: Type.Record(Type.String(), Type.Unknown()),
  createdAt: Type.Integer(),
  streamId: Type.Union([EntityId, Type.Null()]),
  actor: Type.Union([Type.Object({ id: EntityId, username: Type.String() }), Type.Null()]),
  target: Type.Union([Type.Object({ id: EntityId, username: Type.String() }), Type.Null()]),
});
export type ModerationLogEntry = Static<typeof ModerationLogEntrySchema>;

/**
 * An RTCIceServer for `RTCPeerConnection`'s `iceServers`: STUN URLs alone, TURN
 * URLs with a time-limited username and credential (coturn `use-auth-secret`).
 */
export const IceServerSchema = Type.Object({
  urls: Type.Array(Type.String()),
  username: Type.Optional(Type.String()),
  credential: Type.Optional(Type.String()),
});
export type IceServer = Static<typeof IceServerSchema>;

export const TransportOfferSchema = Type.Object({
  id: MediaId,
  iceParameters: Type.Unknown(),
  iceCandidates: Type.Array(Type.Unknown()),
  dtlsParameters: Type.Unknown(),
});

export const ConsumerOfferSchema = Type.Object({
  id: MediaId,
  producerId: MediaId,
  kind: Type.Union([Type.Literal('audio'), Type.Literal('video')]),
  source: MediaSourceSchema,
  rtpParameters: Type.Unknown(),
  type: Type.String(),
  producerPaused: Type.Boolean(),
});

export const WireErrorSchema = Type.Object({
  code: ErrorCodeSchema,
  message: Type.String(),
  retryAfterSeconds: Type.Optional(Type.Number()),
});
