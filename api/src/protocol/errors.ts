// Every error the server sends, REST or WebSocket, carries one of these codes.
export const ERROR_CODES = [
  // transport / framing
  'invalid_json',
  'unknown_type',
  'validation_failed',
  'rate_limited',
  'internal',
  'unavailable',
  // HTTP
  'not_found',
  'recording_not_found',
  'range_not_satisfiable',
  'bad_request',
  'payload_too_large',
  'csrf_rejected',
  // auth
  'unauthorized',
  'forbidden',
  'invalid_credentials',
  'username_taken',
  'invalid_username',
  'invalid_password',
  'account_disabled',
  'registration_closed',
  'invite_required',
  'invalid_invite',
  'invalid_reset_token',
  'streaming_not_approved',
  // streams
  'stream_not_found',
  'stream_ended',
  'stream_already_open',
  // media
  'invalid_parameters',
  'cannot_consume',
  'transport_not_found',
  'producer_not_found',
  'consumer_not_found',
  'media_unavailable',
  // WHIP / WHEP (HTTP, RFC 9725)
  'unsupported_media_type',
  'invalid_sdp',
  'unsupported_sdp',
  'already_publishing',
  'method_not_allowed',
  'precondition_required',
  'precondition_failed',
  'stream_not_live',
  // chat
  'comment_empty',
  'comment_too_long',
  'comment_invalid',
  'blocked_word',
  'slow_mode',
  'chat_rate_limited',
  'timed_out',
  'accounts_only',
  // moderation
  'banned',
  'kicked',
  'user_not_found',
  'comment_not_found',
  'invalid_target',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface WireError {
  code: ErrorCode;
  message: string;
  /** Seconds until the action may be retried (slow mode, timeouts, rate limits). */
  retryAfterSeconds?: number;
}
