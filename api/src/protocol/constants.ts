// Plain values shared by server and client. No TypeBox here: the client bundle
// imports this file for real, and everything else in protocol/ as types only.

export const ROLES = ['streamer', 'moderator', 'vip', 'viewer', 'anonymous'] as const;
export type Role = (typeof ROLES)[number];

export const LAYERS = ['auto', 'low', 'medium', 'high'] as const;
export type Layer = (typeof LAYERS)[number];

export const MEDIA_SOURCES = ['camera', 'microphone', 'screen'] as const;
export type MediaSource = (typeof MEDIA_SOURCES)[number];

export const LIMITS = {
  /** Largest WebSocket frame the server accepts (bytes). SDP-free signaling stays far below. */
  maxFrameBytes: 16 * 1024,
  /** Comment length, in grapheme clusters, after trimming. */
  commentMaxGraphemes: 500,
  /** Comments sent on join. */
  historyBackfill: 50,
  /** Per-user chat rate limit that holds regardless of slow mode (moderators exempt). */
  chatRateMessages: 3,
  chatRateWindowMs: 2000,
  slowModeMaxSeconds: 120,
  timeoutMinSeconds: 10,
  timeoutMaxSeconds: 14 * 24 * 3600,
  kickBlockSeconds: 5 * 60,
  blockedWordsMax: 200,
  blockedWordMaxLength: 64,
  reasonMaxLength: 200,
  /** Any message type, per connection: a token bucket. */
  messagesPerSecond: 20,
  messageBurst: 40,
  /** A client that stops reading is closed once this much is queued for it. */
  maxBufferedBytes: 1024 * 1024,
  viewerListPageMax: 100,
  usernameMin: 3,
  usernameMax: 32,
  passwordMin: 8,
  passwordMax: 256,
  titleMax: 140,
  descriptionMax: 2000,
} as const;

/** Emotes only VIPs (and staff) may use; others see the code as text. */
export const VIP_EMOTES = ['redheart', 'hype', 'gg', 'clap', 'fire'] as const;

/** WebSocket close codes of this protocol (`ws` itself closes with 1007 and 1009 on frames it rejects). */
export const CLOSE_CODES = {
  normal: 1000,
  goingAway: 1001,
  policyViolation: 1008,
  internalError: 1011,
  kicked: 4001,
  banned: 4003,
  streamEnded: 4004,
  /** The account's sessions were ended (signed out by an admin, disabled or deleted): reconnecting makes it anonymous. */
  signedOut: 4005,
} as const;
