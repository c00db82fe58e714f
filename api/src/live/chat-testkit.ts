import type { Db } from '@redred/db';
import { api, registerUser, type TestServer } from '../testing/server.ts';
import { TestWsClient } from '../testing/ws-client.ts';
import type { ServerMessage } from '../protocol/server-messages.ts';

// Shared set-up for the chat and moderation tests: a channel with a live room
// and members of each role, every one of them on a real WebSocket.

export interface Member {
  id: number;
  username: string;
  token: string;
  ws: TestWsClient;
}

export interface Channel {
  streamId: number;
  streamer: Member;
  /** Registers an account and connects it; not appointed to anything. */
  join(username: string): Promise<Member>;
  connect(member: { token: string }): Promise<TestWsClient>;
  /** A watcher without an account. */
  anonymous(): Promise<TestWsClient>;
  /** Registers, has the streamer appoint, connects. */
  appoint(username: string, role: 'moderator' | 'vip'): Promise<Member>;
}

let suffix = 0;
/** Unique per run so tests that share a server never collide on names. */
export const uniqueName = (base: string) => `${base}${(++suffix).toString(36)}${process.pid.toString(36)}`.slice(0, 32);

/** Waits for the history backfill, so nothing sent before counts as missed. */
async function ready(ws: TestWsClient): Promise<TestWsClient> {
  await ws.waitFor('chat_history');
  return ws;
}

export async function openChannel(server: TestServer, streamerName = uniqueName('streamer')): Promise<Channel> {
  const s = await registerUser(server.url, streamerName);
  const created = await api(server.url, 'POST', '/api/live/create/', { token: s.token, body: { title: `${streamerName} live` } });
  if (created.status !== 201) throw new Error(`create stream: ${created.status} ${JSON.stringify(created.body)}`);
  const streamId: number = created.body.stream.id;
  const connect = async (m: { token: string }) => ready(await TestWsClient.connect(server.wsUrl(streamId), { token: m.token }));
  const streamer: Member = { ...s, ws: await connect(s) };
  const join = async (username: string): Promise<Member> => {
    const u = await registerUser(server.url, username);
    return { ...u, ws: await connect(u) };
  };
  return {
    streamId,
    streamer,
    join,
    connect,
    anonymous: async () => ready(await TestWsClient.connect(server.wsUrl(streamId))),
    async appoint(username, role) {
      const u = await registerUser(server.url, username);
      expectAck(await streamer.ws.request({ type: role === 'moderator' ? 'add_moderator' : 'add_vip', userId: u.id }));
      return { ...u, ws: await connect(u) };
    },
  };
}

export function expectAck(reply: ServerMessage): void {
  if (reply.type !== 'ack' && reply.type !== 'comment_ack') throw new Error(`expected an ack, got ${JSON.stringify(reply)}`);
}

/** The error code of a reply, or null if it was not an error. */
export function errorCode(reply: ServerMessage): string | null {
  return reply.type === 'error' ? reply.error.code : null;
}

/** Sends a comment and returns its stored id (throws on refusal). */
export async function say(ws: TestWsClient, content: string): Promise<number> {
  const reply = await ws.request({ type: 'comment', content });
  if (reply.type !== 'comment_ack') throw new Error(`comment refused: ${JSON.stringify(reply)}`);
  return reply.commentId;
}

/** Every moderation-relevant row, to prove a refused request changed nothing. */
export async function moderationState(db: Db): Promise<unknown> {
  return {
    roles: await db.selectFrom('channel_roles').selectAll().orderBy('user_id').execute(),
    bans: await db.selectFrom('channel_bans').selectAll().orderBy('user_id').execute(),
    restrictions: await db.selectFrom('channel_restrictions').selectAll().orderBy('id').execute(),
    settings: await db.selectFrom('chat_settings').selectAll().execute(),
    log: await db.selectFrom('moderation_log').selectAll().orderBy('id').execute(),
    comments: await db.selectFrom('live_stream_comments').selectAll().orderBy('id').execute(),
  };
}
