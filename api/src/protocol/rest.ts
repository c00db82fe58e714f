import { Type, type Static } from '@sinclair/typebox';
import { LIMITS } from './constants.ts';
import { EntityId, StreamInfoSchema, StreamStatsSchema, WireErrorSchema } from './common.ts';

export const ErrorBody = Type.Object({ error: WireErrorSchema });
/** A 204: no body. */
export const NoContent = Type.Null();

/** `:id` of a stream or user in a path: digits, as a string (path parameters are text). */
export const IdParams = Type.Object({ id: Type.String({ pattern: '^[1-9][0-9]{0,15}$' }) });
export type IdParams = Static<typeof IdParams>;
export type ErrorBody = Static<typeof ErrorBody>;

export const Credentials = Type.Object(
  {
    // Length and charset rules are checked in code so the error names the field.
    username: Type.String({ maxLength: 1024 }),
    password: Type.String({ maxLength: 1024 }),
  },
  { additionalProperties: false },
);
export type Credentials = Static<typeof Credentials>;

/** Sign-up: credentials, plus the invite code an admin made when REGISTRATION=invite. */
export const RegisterRequest = Type.Object(
  {
    username: Type.String({ maxLength: 1024 }),
    password: Type.String({ maxLength: 1024 }),
    inviteCode: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: false },
);
export type RegisterRequest = Static<typeof RegisterRequest>;

/**
 * A channel page (`/c/<username>`): the stream that is not ended (waiting or live),
 * if any, and the past ones, newest first. Recordings join here once they exist.
 */
export const ChannelBody = Type.Object({
  channel: Type.Object({ id: EntityId, username: Type.String() }),
  current: Type.Union([StreamInfoSchema, Type.Null()]),
  past: Type.Array(StreamInfoSchema),
});
export type ChannelBody = Static<typeof ChannelBody>;

const ListedPerson = Type.Object({ userId: EntityId, username: Type.String(), since: Type.Integer(), reason: Type.String(), until: Type.Union([Type.Integer(), Type.Null()]) });
/** The studio's moderation lists (staff only); their actions are the WebSocket's moderation messages. */
export const ModerationListsBody = Type.Object({
  moderators: Type.Array(ListedPerson),
  vips: Type.Array(ListedPerson),
  bans: Type.Array(ListedPerson),
  timeouts: Type.Array(ListedPerson),
});
export type ModerationListsBody = Static<typeof ModerationListsBody>;

/** What anyone may know about the site before signing up. */
export const SiteInfoBody = Type.Object({ registration: Type.Union([Type.Literal('open'), Type.Literal('invite'), Type.Literal('closed')]) });
export type SiteInfoBody = Static<typeof SiteInfoBody>;

/** `admin`: a site admin (the client shows the admin page; the server asks the site gate on every admin request). */
export const MeBody = Type.Object({ user: Type.Object({ id: EntityId, username: Type.String() }), admin: Type.Boolean() });
export type MeBody = Static<typeof MeBody>;

export const SessionBody = Type.Object({
  user: Type.Object({ id: EntityId, username: Type.String() }),
  /** Also set as an HttpOnly cookie; returned for API and WebSocket clients that use `Authorization: Bearer`. */
  token: Type.String(),
  expiresAt: Type.Integer(),
});
export type SessionBody = Static<typeof SessionBody>;

export const CreateStreamBody = Type.Object(
  {
    title: Type.String({ minLength: 1, maxLength: LIMITS.titleMax }),
    description: Type.Optional(Type.String({ maxLength: LIMITS.descriptionMax })),
    /** Record this stream (docs/recording.md); absent: the channel's default. */
    record: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type CreateStreamBody = Static<typeof CreateStreamBody>;

export const StreamBody = Type.Object({ stream: StreamInfoSchema });
export type StreamBody = Static<typeof StreamBody>;
export const StreamListBody = Type.Object({ streams: Type.Array(StreamInfoSchema) });
export type StreamListBody = Static<typeof StreamListBody>;
export const StatsBody = Type.Object({ stats: StreamStatsSchema });
export type StatsBody = Static<typeof StatsBody>;

export const UpdateStreamBody = Type.Object(
  {
    title: Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.titleMax })),
    description: Type.Optional(Type.String({ maxLength: LIMITS.descriptionMax })),
  },
  { additionalProperties: false },
);
export type UpdateStreamBody = Static<typeof UpdateStreamBody>;

/** The channel's stream key as the studio sees it: never the key itself, except once after a rotation. */
export const StreamKeyStatusBody = Type.Object({
  hasKey: Type.Boolean(),
  createdAt: Type.Union([Type.Integer(), Type.Null()]),
  /** What goes in OBS's "Server" field (Settings → Stream → Service: WHIP). */
  whipUrl: Type.String(),
});
export type StreamKeyStatusBody = Static<typeof StreamKeyStatusBody>;

export const StreamKeyBody = Type.Object({
  /** Shown once: only its hash is stored. */
  key: Type.String(),
  createdAt: Type.Integer(),
  whipUrl: Type.String(),
});
export type StreamKeyBody = Static<typeof StreamKeyBody>;

/** An uplink probe: what the server received and how long it took. */
export const UploadProbeBody = Type.Object({ bytes: Type.Integer(), ms: Type.Integer(), bitsPerSecond: Type.Integer() });
export type UploadProbeBody = Static<typeof UploadProbeBody>;

export const RecordingSchema = Type.Object({
  id: Type.Integer({ minimum: 1 }),
  streamId: Type.Integer({ minimum: 1 }),
  channel: Type.Object({ id: Type.Integer({ minimum: 1 }), username: Type.String() }),
  title: Type.String(),
  status: Type.Union([Type.Literal('recording'), Type.Literal('ready'), Type.Literal('partial'), Type.Literal('failed')]),
  /** webm (VP8/Opus) or mp4 (H.264/Opus): docs/recording.md says which browser plays which. */
  container: Type.String(),
  private: Type.Boolean(),
  startedAt: Type.Integer(),
  endedAt: Type.Union([Type.Integer(), Type.Null()]),
  durationMs: Type.Integer(),
  sizeBytes: Type.Integer(),
  stopReason: Type.Union([Type.String(), Type.Null()]),
  /** Where the file plays from (HTTP range requests); absent until it is finalised. */
  url: Type.Optional(Type.String()),
});
export type RecordingInfo = Static<typeof RecordingSchema>;
export const RecordingBody = Type.Object({ recording: RecordingSchema });
export const RecordingListBody = Type.Object({ recordings: Type.Array(RecordingSchema) });
export type RecordingListBody = Static<typeof RecordingListBody>;
export const UpdateRecordingBody = Type.Object({ private: Type.Boolean() }, { additionalProperties: false });
export type UpdateRecordingBody = Static<typeof UpdateRecordingBody>;
export type RecordingBody = Static<typeof RecordingBody>;
/** An ended stream's visible comments, oldest first, for chat replay beside its recording (at most REPLAY_CHAT_MAX, the last ones). */
export const ReplayChatBody = Type.Object({
  comments: Type.Array(
    Type.Object({
      id: Type.Integer(),
      username: Type.String(),
      content: Type.String(),
      createdAt: Type.Integer(),
      /** Where the comment belongs in the recording (ms into the file): across a recorder restart's gap too; one written during a gap shows where the next run starts. */
      mediaMs: Type.Integer({ minimum: 0 }),
    }),
  ),
});
export type ReplayChatBody = Static<typeof ReplayChatBody>;
export const REPLAY_CHAT_MAX = 5000;
/** The channel's default for `record` when a stream is created without it. */
export const RecordingSettingsBody = Type.Object({ recordByDefault: Type.Boolean() }, { additionalProperties: false });
export type RecordingSettingsBody = Static<typeof RecordingSettingsBody>;
