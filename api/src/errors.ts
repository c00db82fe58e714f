import { isDatabaseUnavailable } from '@redred/db';
import type { ErrorCode } from './protocol/errors.ts';

const STATUS: Partial<Record<ErrorCode, number>> = {
  invalid_json: 400,
  validation_failed: 400,
  bad_request: 400,
  invalid_username: 400,
  invalid_password: 400,
  unauthorized: 401,
  invalid_credentials: 401,
  forbidden: 403,
  account_disabled: 403,
  registration_closed: 403,
  invite_required: 403,
  invalid_invite: 403,
  invalid_reset_token: 400,
  streaming_not_approved: 403,
  csrf_rejected: 403,
  banned: 403,
  not_found: 404,
  stream_not_found: 404,
  user_not_found: 404,
  comment_not_found: 404,
  recording_not_found: 404,
  range_not_satisfiable: 416,
  username_taken: 409,
  stream_already_open: 409,
  payload_too_large: 413,
  invalid_sdp: 400,
  method_not_allowed: 405,
  already_publishing: 409,
  precondition_failed: 412,
  stream_not_live: 409,
  unsupported_media_type: 415,
  unsupported_sdp: 422,
  precondition_required: 428,
  rate_limited: 429,
  unavailable: 503,
};

/** The one error class of the service: a stable wire `code`, a human message, an HTTP status. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, opts: { retryAfterSeconds?: number; statusCode?: number; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.statusCode = opts.statusCode ?? STATUS[code] ?? 400;
    this.retryAfterSeconds = opts.retryAfterSeconds;
  }

  toWire(): { code: ErrorCode; message: string; retryAfterSeconds?: number } {
    return this.retryAfterSeconds === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, retryAfterSeconds: this.retryAfterSeconds };
  }
}

/**
 * Database errors that mean "could not store", as opposed to a bug: SQLite busy,
 * full, read-only…; PostgreSQL unreachable, shutting down, out of resources
 * (`isDatabaseUnavailable` lists them). Reported as `unavailable`, never as success.
 */
export function isStorageUnavailable(err: unknown): boolean {
  return isDatabaseUnavailable(err);
}
