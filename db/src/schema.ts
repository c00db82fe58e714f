import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

// Times are integer milliseconds since the epoch (UTC): sortable, cheap to
// compare in SQL, and no timezone surprises between SQLite and JavaScript.
type Millis = number;

export type StreamStatus = 'waiting' | 'live' | 'ended';
export type ChannelRole = 'moderator' | 'vip';
export type RestrictionKind = 'timeout' | 'kick';

export interface UsersTable {
  id: Generated<number>;
  username: string;
  /** Lower-cased username: the unique key, so "Ana" and "ana" are one account. */
  username_key: string;
  password_hash: string;
  created_at: Millis;
  /** 1: a site admin (also anyone named in ADMIN_USERNAMES, decided at run time). */
  is_admin: ColumnType<number, number | undefined, number>;
  /** 1: approved by an admin to stream when STREAMING=approved. */
  may_stream: ColumnType<number, number | undefined, number>;
  /** Set: the account cannot sign in and its sessions are refused. */
  disabled_at: Millis | null;
  /** Set: the account was deleted (name freed, password unusable); the row stays for the comments and logs that name it. */
  deleted_at: Millis | null;
}

export interface SessionsTable {
  id: Generated<number>;
  /** SHA-256 of the bearer token: a leaked database does not leak sessions. */
  token_hash: string;
  user_id: number;
  created_at: Millis;
  expires_at: Millis;
}

export interface LiveStreamsTable {
  id: Generated<number>;
  streamer_id: number;
  title: string;
  description: string;
  status: ColumnType<StreamStatus, StreamStatus | undefined, StreamStatus>;
  created_at: Millis;
  started_at: Millis | null;
  ended_at: Millis | null;
  end_reason: string | null;
  viewers_count: ColumnType<number, number | undefined, number>;
  peak_viewers: ColumnType<number, number | undefined, number>;
  comments_count: ColumnType<number, number | undefined, number>;
  unique_viewers: ColumnType<number, number | undefined, number>;
  /** ∫ viewers dt over the live period, in viewer-milliseconds: average = this / live duration. */
  viewer_ms: ColumnType<number, number | undefined, number>;
  /** When viewers_count last changed (or the stream went live): where the integral resumes. */
  viewers_changed_at: Millis | null;
  /** Last time a viewer, comment or the streamer's media touched the stream (sweeper input). */
  last_activity_at: Millis;
  /** Last time the stream had at least one viewer (idle rule input). */
  last_viewer_at: Millis | null;
  /** Last time a server saw the streamer's socket connected, refreshed while it stays; null: never (waiting rule input). */
  streamer_seen_at: Millis | null;
  /** 1: the streamer asked for a recording of this stream (docs/recording.md). */
  record: ColumnType<number, number | undefined, number>;
}

export interface CommentsTable {
  id: Generated<number>;
  stream_id: number;
  user_id: number;
  content: string;
  highlighted: ColumnType<number, number | undefined, number>;
  created_at: Millis;
  deleted_at: Millis | null;
  deleted_by: number | null;
}

export interface ChannelRolesTable {
  /** A channel is its streamer: roles carry over from one stream to the next. */
  channel_id: number;
  user_id: number;
  role: ChannelRole;
  granted_by: number;
  created_at: Millis;
}

export interface ChannelBansTable {
  channel_id: number;
  user_id: number;
  reason: string;
  banned_by: number;
  created_at: Millis;
}

export interface ChannelRestrictionsTable {
  id: Generated<number>;
  channel_id: number;
  user_id: number;
  kind: RestrictionKind;
  reason: string;
  created_by: number;
  created_at: Millis;
  expires_at: Millis;
  lifted_at: Millis | null;
}

export interface ChatSettingsTable {
  channel_id: number;
  slow_mode_seconds: ColumnType<number, number | undefined, number>;
  /** JSON array of normalised words. */
  blocked_words: ColumnType<string, string | undefined, string>;
  accounts_only: ColumnType<number, number | undefined, number>;
  updated_at: Millis;
}

export interface ModerationLogTable {
  id: Generated<number>;
  channel_id: number;
  stream_id: number | null;
  actor_id: number | null;
  target_user_id: number | null;
  action: string;
  reason: string;
  /** JSON object with action-specific details (duration, comment id, settings...). */
  details: string;
  created_at: Millis;
}

export interface ViewerSamplesTable {
  stream_id: number;
  at: Millis;
  viewers: number;
}

export interface StreamViewersTable {
  stream_id: number;
  /** `u:<userId>` for accounts, `a:<connection id>` for anonymous watchers. */
  viewer_key: string;
  first_seen_at: Millis;
}

export interface StreamKeysTable {
  /** The streamer's account: one key per channel. */
  channel_id: number;
  /** SHA-256 (hex) of the key; the key itself is shown once and never stored. */
  key_hash: string;
  created_at: Millis;
}

export interface AdminLogTable {
  id: Generated<number>;
  actor_id: number | null;
  action: string;
  target_user_id: number | null;
  target_stream_id: number | null;
  reason: ColumnType<string, string | undefined, string>;
  /** JSON object with action-specific details. */
  details: ColumnType<string, string | undefined, string>;
  created_at: Millis;
}

export interface PasswordResetsTable {
  /** SHA-256 (hex) of the one-time token in the link. */
  token_hash: string;
  user_id: number;
  created_by: number | null;
  created_at: Millis;
  expires_at: Millis;
  used_at: Millis | null;
}

export interface InvitesTable {
  /** SHA-256 (hex) of the invite code. */
  code_hash: string;
  created_by: number | null;
  created_at: Millis;
  expires_at: Millis;
  used_by: number | null;
  used_at: Millis | null;
}

export interface SiteSettingsTable {
  name: string;
  /** JSON value. */
  value: string;
  updated_by: number | null;
  updated_at: Millis;
}

export type RecordingStatus = 'recording' | 'ready' | 'partial' | 'failed';

export interface RecordingSettingsTable {
  channel_id: number;
  /** 1: new streams of this channel are recorded unless the streamer says otherwise. */
  record_by_default: ColumnType<number, number | undefined, number>;
  updated_at: Millis;
}

export interface RecordingsTable {
  id: Generated<number>;
  stream_id: number;
  channel_id: number;
  /** recording: a recorder may be writing; ready: one finished file; partial: finished from what a crash left; failed: nothing playable. */
  status: RecordingStatus;
  container: string;
  private: ColumnType<number, number | undefined, number>;
  started_at: Millis;
  ended_at: Millis | null;
  duration_ms: ColumnType<number, number | undefined, number>;
  size_bytes: ColumnType<number, number | undefined, number>;
  segments: ColumnType<number, number | undefined, number>;
  /** Why recording stopped early (disk_low, …), or null. */
  stop_reason: string | null;
  /** JSON [{wallMs, mediaMs, durationMs}] per joined segment, set at finalise; null before (or for recordings finalised before timelines were kept). */
  timeline: string | null;
}

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  live_streams: LiveStreamsTable;
  live_stream_comments: CommentsTable;
  channel_roles: ChannelRolesTable;
  channel_bans: ChannelBansTable;
  channel_restrictions: ChannelRestrictionsTable;
  chat_settings: ChatSettingsTable;
  moderation_log: ModerationLogTable;
  viewer_samples: ViewerSamplesTable;
  stream_viewers: StreamViewersTable;
  stream_keys: StreamKeysTable;
  admin_log: AdminLogTable;
  password_resets: PasswordResetsTable;
  invites: InvitesTable;
  site_settings: SiteSettingsTable;
  recording_settings: RecordingSettingsTable;
  recordings: RecordingsTable;
}

export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type LiveStream = Selectable<LiveStreamsTable>;
export type NewLiveStream = Insertable<LiveStreamsTable>;
export type LiveStreamUpdate = Updateable<LiveStreamsTable>;
export type Comment = Selectable<CommentsTable>;
export type ModerationLogEntry = Selectable<ModerationLogTable>;
export type ChatSettingsRow = Selectable<ChatSettingsTable>;
export type AdminLogEntry = Selectable<AdminLogTable>;
export type Recording = Selectable<RecordingsTable>;
