import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseClientFrame } from './dispatcher.ts';
import { TestWsClient } from '../testing/ws-client.ts';
import { api, registerUser, startTestServer, type TestServer } from '../testing/server.ts';
import { setChannelRole, transitionStream } from '@redred/db';
import type { ServerMessage } from '../protocol/server-messages.ts';
import { CLIENT_MESSAGE_TYPES } from '../protocol/client-messages.ts';
import { ERROR_CODES } from '../protocol/errors.ts';
import { documentedErrorCodes } from '../testing/docs.ts';
import { moderationState } from './chat-testkit.ts';

// Property: whatever arrives on the socket, the server answers bad frames with a
// documented error code (or closes with a close code), never crashes, a refused
// frame changes nothing stored, and a well-behaved streamer's comments keep
// reaching a watcher throughout.
const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
/** Codes both in errors.ts and in docs/protocol.md: what a client may be told. */
const DOCUMENTED = new Set([...ERROR_CODES].filter((c) => documentedErrorCodes().has(c)));
/** Close codes for framing violations: bad UTF-8, policy (flooding), too large. */
const FRAMING_CLOSES = [1007, 1008, 1009];

let srv: TestServer;
let streamA: number;
let streamB: number;
const tokens: Record<string, string> = {};
let goodUserId = 0;

const VALID: Record<string, Record<string, unknown>> = {
  create_transport: { direction: 'recv' },
  answer: { kind: 'connect', transportId: 'tid', dtlsParameters: { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'AA:BB' }] } },
  consume: { transportId: 't', producerId: 'p', rtpCapabilities: { codecs: [] } },
  resume_consumer: { consumerId: 'c' },
  set_layer: { consumerId: 'c', layer: 'low' },
  restart_ice: { transportId: 't' },
  ice_candidate: { transportId: 't', candidate: null },
  close_producer: { producerId: 'p' },
  end_stream: {},
  comment: { content: 'hello' },
  delete_comment: { commentId: 1 },
  timeout_user: { userId: 2, durationSeconds: 60 },
  kick_user: { userId: 2 },
  ban_user: { userId: 2 },
  unban_user: { userId: 2 },
  add_moderator: { userId: 2 },
  remove_moderator: { userId: 2 },
  add_vip: { userId: 2 },
  remove_vip: { userId: 2 },
  update_chat_settings: { settings: { slowModeSeconds: 0 } },
  get_moderation_log: {},
  list_viewers: { search: 'a' },
};

const nasty = fc.oneof(
  fc.anything(),
  fc.string({ maxLength: 50 }),
  fc.constant('x'.repeat(5000)),
  fc.integer(),
  fc.double(),
  fc.constant(null),
  fc.constant({ __proto__: { admin: true } }),
  fc.constant(JSON.parse('{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 1}}}')),
  fc.array(fc.anything(), { maxLength: 5 }),
);

/** A frame: raw text, binary, bad UTF-8, deep nesting, or a valid message of some type with mutated fields. */
const frame = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constantFrom(...CLIENT_MESSAGE_TYPES), field: fc.string({ maxLength: 12 }), value: nasty, keep: fc.boolean() }).map(({ t, field, value, keep }) => {
    const base: Record<string, unknown> = { type: t, requestId: 'fz', ...VALID[t] };
    const keys = Object.keys(base);
    const target = keep ? (keys[Math.abs(hash(field)) % keys.length] ?? field) : field;
    return { kind: 'text' as const, data: JSON.stringify({ ...base, [target]: value }) };
  }) },
  { weight: 1, arbitrary: fc.json().map((data) => ({ kind: 'text' as const, data })) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }).map((data) => ({ kind: 'text' as const, data })) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3000 }).map((d) => ({ kind: 'text' as const, data: '['.repeat(d) + ']'.repeat(d) })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => ({ kind: 'binary' as const, data: Buffer.from(b) })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'badutf8' as const, data: Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'text' as const, data: JSON.stringify({ type: 'comment', requestId: 'fz', content: 'y'.repeat(17_000) }) }) },
);

function hash(s: string): number {
  let h = 0;
  for (const ch of s) h = (h * 31 + ch.charCodeAt(0)) | 0;
  return h;
}

type Frame = { kind: 'text'; data: string } | { kind: 'binary' | 'badutf8'; data: Buffer };

/** Valid frames that would legitimately end the test's premise are not sent. */
function isDisruptive(f: Frame, role: string): boolean {
  if (f.kind !== 'text') return false;
  const p = parseClientFrame(Buffer.from(f.data), false);
  if (!p.ok) return false;
  const m = p.message as { type: string; userId?: number };
  if (m.type === 'end_stream') return true;
  if (m.type === 'update_chat_settings') return true;
  if ('userId' in m && m.userId === goodUserId) return true;
  return role === 'streamer' && m.type === 'comment';
}

class Fuzzer {
  client!: TestWsClient;
  constructor(
    readonly role: string,
    readonly streamId: number,
    readonly token: string | undefined,
  ) {}

  async connect(): Promise<void> {
    this.client = await TestWsClient.connect(srv.wsUrl(this.streamId), this.token ? { token: this.token } : {});
    await this.client.waitFor('connection_established');
  }

  /**
   * Sends one frame, then a sentinel request; everything the server says in between
   * is the frame's answer (a connection's messages are handled in the order sent).
   * Returns whether the server refused the frame (an error, or a close).
   */
  async run(f: Frame): Promise<'refused' | 'accepted' | 'skipped'> {
    if (isDisruptive(f, this.role)) return 'skipped';
    if (this.client.ws.readyState !== this.client.ws.OPEN) await this.connect();
    const start = this.client.messages.length;
    if (f.kind === 'text') this.client.sendRaw(f.data);
    else this.client.ws.send(f.data, { binary: f.kind === 'binary' });
    const sentinel = this.client.request({ type: 'list_viewers', limit: 1 }, 5000);
    const outcome = await Promise.race([sentinel, this.client.closedPromise.then(() => 'closed' as const)]);
    if (outcome === 'closed') {
      // Only framing violations close the socket, with their own code.
      expect(FRAMING_CLOSES).toContain(this.client.closeCode);
      return 'refused';
    }
    const answer = this.client.messages.slice(start).filter((m) => m !== outcome) as ServerMessage[];
    const errors = answer.flatMap((m) => (m.type === 'error' ? [m.error.code] : []));
    for (const code of errors) expect(DOCUMENTED, `undocumented error code ${code}`).toContain(code);
    const valid = f.kind === 'text' && parseClientFrame(Buffer.from(f.data), false).ok;
    if (!valid) expect(errors.length, `bad frame not answered with an error: ${JSON.stringify(f).slice(0, 200)}`).toBeGreaterThan(0);
    return errors.length > 0 ? 'refused' : 'accepted';
  }
}

/** Counts fuzzed frames, so the chat check can pace itself by them instead of by the clock. */
class Progress {
  #count = 0;
  #waiters: { at: number; resolve: () => void }[] = [];

  tick(): void {
    this.#count++;
    this.#waiters = this.#waiters.filter((w) => (w.at <= this.#count ? (w.resolve(), false) : true));
  }

  /** Resolves once `n` more frames are done. */
  after(n: number): Promise<void> {
    return new Promise((resolve) => this.#waiters.push({ at: this.#count + n, resolve }));
  }
}

/** One connected fuzzer per role: anonymous, viewer, VIP and moderator on stream A, the owner of stream B. */
async function connectFuzzers(): Promise<Fuzzer[]> {
  const fuzzers = [
    new Fuzzer('anonymous', streamA, undefined),
    new Fuzzer('viewer', streamA, tokens.fz_viewer),
    new Fuzzer('vip', streamA, tokens.fz_vip),
    new Fuzzer('moderator', streamA, tokens.fz_mod),
    new Fuzzer('streamer', streamB, tokens.owner_b),
  ];
  for (const f of fuzzers) await f.connect();
  return fuzzers;
}

/** Every stored row a frame could change, minus the audience figures that move when fuzzers reconnect. */
/** Resolves once every comment already handed to a room's writer is committed (an exclusive task runs between commits). */
async function settleWrites(): Promise<void> {
  for (const id of [streamA, streamB]) await srv.app.rooms.get(id)?.chat.writer.exclusive(async () => {});
}

async function storedState(): Promise<unknown> {
  return {
    ...((await moderationState(srv.app.db)) as object),
    users: await srv.app.db.selectFrom('users').selectAll().orderBy('id').execute(),
    streams: await srv.app.db
      .selectFrom('live_streams')
      .select(['id', 'streamer_id', 'title', 'description', 'status', 'created_at', 'started_at', 'ended_at', 'end_reason', 'comments_count'])
      .orderBy('id')
      .execute(),
  };
}

beforeAll(async () => {
  srv = await startTestServer({ wsMessagesPerSecond: 100_000, wsMessageBurst: 100_000 });
  for (const name of ['owner_a', 'owner_b', 'fz_mod', 'fz_vip', 'fz_viewer']) tokens[name] = (await registerUser(srv.url, name)).token;
  const me = await api(srv.url, 'GET', '/api/auth/me', { token: tokens.owner_a });
  goodUserId = me.body.user.id;
  streamA = (await api(srv.url, 'POST', '/api/live/create/', { token: tokens.owner_a, body: { title: 'A' } })).body.stream.id;
  streamB = (await api(srv.url, 'POST', '/api/live/create/', { token: tokens.owner_b, body: { title: 'B' } })).body.stream.id;
  await transitionStream(srv.app.db, streamA, 'live', { now: Date.now() });
  const mod = await api(srv.url, 'GET', '/api/auth/me', { token: tokens.fz_mod });
  const vip = await api(srv.url, 'GET', '/api/auth/me', { token: tokens.fz_vip });
  await setChannelRole(srv.app.db, { channelId: goodUserId, userId: mod.body.user.id, role: 'moderator', grantedBy: goodUserId, now: Date.now() });
  await setChannelRole(srv.app.db, { channelId: goodUserId, userId: vip.body.user.id, role: 'vip', grantedBy: goodUserId, now: Date.now() });
}, 60_000);
afterAll(() => srv.close());

describe('protocol fuzzing against a real server', () => {
  it(`survives ${RUNS} random and mutated frames for every message type and role, and chat keeps flowing`, async () => {
    const streamer = await TestWsClient.connect(srv.wsUrl(streamA), { token: tokens.owner_a });
    const watcher = await TestWsClient.connect(srv.wsUrl(streamA));
    await watcher.waitFor('connection_established');
    let sent = 0;
    let flowing = true;
    const progress = new Progress();
    let fuzzingDone!: () => void;
    const done = new Promise<void>((r) => (fuzzingDone = r));
    // One comment per 25 fuzzed frames: it must be acknowledged and reach the watcher each time.
    const chat = (async () => {
      while (flowing) {
        const reply = await streamer.request({ type: 'comment', content: `still here ${sent}` });
        expect(reply.type).toBe('comment_ack');
        const id = (reply as { commentId: number }).commentId;
        await watcher.waitFor('comment', (m) => m.comment.id === id, 5000);
        sent++;
        await Promise.race([progress.after(25), done]);
      }
    })();

    const fuzzers = await connectFuzzers();
    const perFuzzer = Math.ceil(RUNS / fuzzers.length);
    await Promise.all(
      fuzzers.map((fz) =>
        fc.assert(
          fc.asyncProperty(frame, async (f) => {
            await fz.run(f as Frame);
            progress.tick();
          }),
          { numRuns: perFuzzer, endOnFailure: true },
        ),
      ),
    );
    flowing = false;
    fuzzingDone();
    await chat;
    console.log(`fuzz: ${perFuzzer * fuzzers.length} frames; ${sent} comments delivered meanwhile`);
    expect(sent).toBeGreaterThan(5);
    expect((await api(srv.url, 'GET', '/health')).status).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  }, 600_000);

  it('changes nothing stored when it refuses a frame, whoever sends it', async () => {
    const fuzzers = await connectFuzzers();
    let refused = 0;
    // One frame at a time: a snapshot pair must see that frame's effects and nobody else's.
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: fuzzers.length - 1 }), frame, async (who, f) => {
        // An earlier accepted comment may still sit in its room's group commit (its ack comes after the
        // commit, the sentinel reply before it): let every pending write land before the snapshot.
        await settleWrites();
        const before = await storedState();
        if ((await fuzzers[who]!.run(f as Frame)) !== 'refused') return;
        refused++;
        expect(await storedState(), `refused frame changed the database: ${JSON.stringify(f).slice(0, 200)}`).toEqual(before);
      }),
      { numRuns: Math.ceil(RUNS / 10), endOnFailure: true },
    );
    expect(refused).toBeGreaterThan(0);
  }, 600_000);
});
