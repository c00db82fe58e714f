import type { RawData } from 'ws';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import { AppError, isStorageUnavailable } from '../errors.ts';
import { CLIENT_MESSAGE_TYPES, ClientMessageSchemas, type ClientMessage, type ClientMessageType } from '../protocol/client-messages.ts';
import { CLOSE_CODES } from '../protocol/constants.ts';
import { chatHandlers } from './chat.ts';
import type { LiveConnection } from './connection.ts';
import type { LiveContext } from './context.ts';
import { moderationHandlers } from './moderation.ts';
import type { StreamRoom } from './room.ts';
import { signalingHandlers } from './signaling.ts';
import { viewerHandlers } from './viewer-list.ts';

const checkers = Object.fromEntries(
  CLIENT_MESSAGE_TYPES.map((t) => [t, TypeCompiler.Compile(ClientMessageSchemas[t] as TSchema)]),
) as Record<ClientMessageType, TypeCheck<TSchema>>;

const KNOWN_TYPES = new Set<string>(CLIENT_MESSAGE_TYPES);

/** Refused messages in a row before a flooding client is cut off. */
const MAX_STRIKES = 50;

export type ParseResult = { ok: true; message: ClientMessage } | { ok: false; error: AppError; requestId?: string };

/** Parses and validates one frame. Never throws. */
export function parseClientFrame(data: RawData, isBinary: boolean): ParseResult {
  if (isBinary) return { ok: false, error: new AppError('validation_failed', 'binary frames are not accepted; send JSON text') };
  const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, error: new AppError('invalid_json', 'the frame is not valid JSON') };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, error: new AppError('validation_failed', 'a message is a JSON object with a "type"') };
  }
  const obj = raw as Record<string, unknown>;
  const requestId = typeof obj.requestId === 'string' && obj.requestId.length <= 64 ? obj.requestId : undefined;
  const type = obj.type;
  if (typeof type !== 'string' || !KNOWN_TYPES.has(type)) {
    // Never String() a parsed value: `{"toString":1}` makes that throw.
    const shown = typeof type === 'string' ? JSON.stringify(type).slice(0, 80) : `of type ${type === null ? 'null' : typeof type}`;
    return { ok: false, error: new AppError('unknown_type', `unknown message type ${shown}`), ...(requestId ? { requestId } : {}) };
  }
  const checker = checkers[type as ClientMessageType];
  if (!checker.Check(obj)) {
    const first = checker.Errors(obj).First();
    const where = first?.path || '/';
    return {
      ok: false,
      error: new AppError('validation_failed', `${type}: ${where} ${first?.message ?? 'is invalid'}`),
      ...(requestId ? { requestId } : {}),
    };
  }
  return { ok: true, message: obj as ClientMessage };
}

/** One place where every message is routed; the compiler proves every type is handled. */
async function route(ctx: LiveContext, room: StreamRoom, conn: LiveConnection, msg: ClientMessage): Promise<void> {
  switch (msg.type) {
    case 'create_transport':
      return signalingHandlers.create_transport(ctx, room, conn, msg);
    case 'answer':
      return signalingHandlers.answer(ctx, room, conn, msg);
    case 'consume':
      return signalingHandlers.consume(ctx, room, conn, msg);
    case 'resume_consumer':
      return signalingHandlers.resume_consumer(ctx, room, conn, msg);
    case 'set_layer':
      return signalingHandlers.set_layer(ctx, room, conn, msg);
    case 'restart_ice':
      return signalingHandlers.restart_ice(ctx, room, conn, msg);
    case 'ice_candidate':
      return signalingHandlers.ice_candidate();
    case 'close_producer':
      return signalingHandlers.close_producer(ctx, room, conn, msg);
    case 'end_stream':
      return signalingHandlers.end_stream(ctx, room, conn, msg);
    case 'comment':
      return chatHandlers.comment(ctx, room, conn, msg);
    case 'delete_comment':
      return moderationHandlers.delete_comment(ctx, room, conn, msg);
    case 'timeout_user':
      return moderationHandlers.timeout_user(ctx, room, conn, msg);
    case 'kick_user':
      return moderationHandlers.kick_user(ctx, room, conn, msg);
    case 'ban_user':
      return moderationHandlers.ban_user(ctx, room, conn, msg);
    case 'unban_user':
      return moderationHandlers.unban_user(ctx, room, conn, msg);
    case 'add_moderator':
      return moderationHandlers.add_moderator(ctx, room, conn, msg);
    case 'remove_moderator':
      return moderationHandlers.remove_moderator(ctx, room, conn, msg);
    case 'add_vip':
      return moderationHandlers.add_vip(ctx, room, conn, msg);
    case 'remove_vip':
      return moderationHandlers.remove_vip(ctx, room, conn, msg);
    case 'update_chat_settings':
      return moderationHandlers.update_chat_settings(ctx, room, conn, msg);
    case 'get_moderation_log':
      return moderationHandlers.get_moderation_log(ctx, room, conn, msg);
    case 'list_viewers':
      return viewerHandlers.list_viewers(ctx, room, conn, msg);
    default: {
      const unhandled: never = msg;
      throw new AppError('unknown_type', `unhandled message ${(unhandled as { type: string }).type}`);
    }
  }
}

function replyError(conn: LiveConnection, error: AppError, requestId: string | undefined): void {
  conn.send(requestId === undefined ? { type: 'error', error: error.toWire() } : { type: 'error', requestId, error: error.toWire() });
}

/** Entry point for every frame: rate limit, parse, validate, route, and answer errors with a code. */
export function handleFrame(ctx: LiveContext, room: StreamRoom, conn: LiveConnection, data: RawData, isBinary: boolean): void {
  if (!conn.bucket.take(ctx.now())) {
    conn.strikes++;
    if (conn.strikes > MAX_STRIKES) {
      conn.close(CLOSE_CODES.policyViolation, 'message rate exceeded');
      return;
    }
    replyError(conn, new AppError('rate_limited', `at most ${ctx.config.wsMessagesPerSecond} messages per second`, { retryAfterSeconds: 1 }), undefined);
    return;
  }
  let parsed: ParseResult;
  try {
    parsed = parseClientFrame(data, isBinary);
  } catch (err) {
    // A throw here would escape the socket's 'message' listener and take the process down.
    ctx.log.error({ err, connection: conn.id }, 'frame parser failed');
    replyError(conn, new AppError('internal', 'internal error'), undefined);
    return;
  }
  if (!parsed.ok) {
    replyError(conn, parsed.error, parsed.requestId);
    return;
  }
  conn.strikes = 0;
  const msg = parsed.message;
  const requestId = 'requestId' in msg ? msg.requestId : undefined;
  conn.enqueue(async () => {
    if (conn.closed || room.closed) return;
    try {
      await route(ctx, room, conn, msg);
    } catch (err) {
      if (err instanceof AppError) {
        replyError(conn, err, requestId);
      } else if (isStorageUnavailable(err)) {
        ctx.log.error({ err, type: msg.type }, 'storage unavailable');
        replyError(conn, new AppError('unavailable', 'storage is unavailable; nothing was saved'), requestId);
      } else {
        ctx.log.error({ err, type: msg.type, streamId: room.streamId }, 'message handler failed');
        replyError(conn, new AppError('internal', 'internal error'), requestId);
      }
    }
  });
}
