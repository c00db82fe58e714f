import * as sdpTransform from 'sdp-transform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../config.ts';
import { goLive } from '../testing/publish.ts';
import { api, registerUser, startTestServer, type TestServer } from '../testing/server.ts';
import { TestWsClient } from '../testing/ws-client.ts';
import { SESSION_TIMING, type SessionCloseReason } from './session.ts';
import { fixture, http, rotateKey, transportsOf, whipPost } from './whip-testkit.ts';

// WHIP and WHEP over real HTTP against a real server (SQLite file, mediasoup
// workers). The offers are OBS- and Chromium-shaped; no media flows here (the
// browser tests do that): this is the contract — status codes, headers, the
// stream's lifecycle — and that nothing leaks whatever a client sends.

const GRACE_MS = 1500;
let srv: TestServer;
const sockets: TestWsClient[] = [];
const obs = fixture('obs-whip-h264.sdp');

beforeAll(async () => {
  srv = await startTestServer({
    sweeper: { ...defaultConfig().sweeper, restartGraceMs: GRACE_MS, streamerGoneMs: GRACE_MS },
    turn: { urls: ['stun:stun.example.net:3478', 'turn:turn.example.net:3478?transport=udp'], secret: 'a-shared-coturn-secret-of-32-chars', ttlSeconds: 3600 },
  });
});

afterAll(async () => {
  for (const s of sockets) await s.close();
  await srv?.close();
});

async function streamer(name: string) {
  const user = await registerUser(srv.url, name);
  return { ...user, key: await rotateKey(srv, user.token) };
}

async function mine(token: string) {
  return (await api(srv.url, 'GET', '/api/live/mine', { token })).body.stream as { id: number; status: string; title: string };
}

async function watch(streamId: number, token?: string): Promise<TestWsClient> {
  const ws = await TestWsClient.connect(srv.wsUrl(streamId), token ? { token } : {});
  sockets.push(ws);
  await ws.waitFor('connection_established');
  return ws;
}

const serving = async () => (await api(srv.url, 'GET', '/health')).status;

describe('stream keys', () => {
  it('are made in the studio, shown once, stored hashed, and need a signed-in streamer', async () => {
    expect((await api(srv.url, 'GET', '/api/stream-key')).status).toBe(401);
    const ana = await registerUser(srv.url, 'keyana');
    expect((await api(srv.url, 'GET', '/api/stream-key', { token: ana.token })).body).toMatchObject({ hasKey: false, createdAt: null });
    const rotated = await api(srv.url, 'POST', '/api/stream-key', { token: ana.token });
    expect(rotated.status).toBe(201);
    expect(rotated.body.key).toMatch(/^live_[A-Za-z0-9_-]{43}$/);
    expect(rotated.body.whipUrl).toBe(`${srv.url}/api/whip`);
    const status = await api(srv.url, 'GET', '/api/stream-key', { token: ana.token });
    expect(status.body).toMatchObject({ hasKey: true, createdAt: rotated.body.createdAt });
    expect(JSON.stringify(status.body)).not.toContain(rotated.body.key);
    const row = await srv.app.db.selectFrom('stream_keys').selectAll().where('channel_id', '=', ana.id).executeTakeFirstOrThrow();
    expect(row.key_hash).not.toContain(rotated.body.key);
    expect(row.key_hash).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('the WHIP URL the studio shows', () => {
  it('is PUBLIC_URL behind a proxy', async () => {
    const proxied = await startTestServer({ publicUrl: 'https://live.example.com' });
    try {
      const ana = await registerUser(proxied.url, 'proxyana');
      expect((await api(proxied.url, 'GET', '/api/stream-key', { token: ana.token })).body.whipUrl).toBe('https://live.example.com/api/whip');
    } finally {
      await proxied.close();
    }
  });
});

describe('WHIP ingest (RFC 9725)', () => {
  it('POST with the key creates the channel stream and takes it live: 201, Location, ETag, an SDP answer', async () => {
    const bo = await streamer('whipbo');
    const res = await whipPost(srv, bo.key, obs);
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('application/sdp');
    expect(res.headers.get('location')).toMatch(/^\/api\/whip\/sessions\/[A-Za-z0-9_-]{22}$/);
    expect(res.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(res.headers.get('accept-patch')).toBe('application/trickle-ice-sdpfrag');
    expect(res.headers.get('access-control-expose-headers')).toContain('Location');
    // The TURN_URLS servers, TURN with a credential for this channel that coturn can check.
    const links = res.headers.get('link')!;
    expect(links).toContain('<stun:stun.example.net:3478>; rel="ice-server"');
    expect(links).toMatch(new RegExp(`<turn:turn\\.example\\.net:3478\\?transport=udp>; rel="ice-server"; username="\\d+:${bo.id}"; credential="[A-Za-z0-9+/=]+"; credential-type="password"`));
    const answer = sdpTransform.parse(res.text);
    expect(answer.media.map((m) => [m.type, m.direction, String(m.mid)])).toEqual([['audio', 'recvonly', '0'], ['video', 'recvonly', '1']]);
    const stream = await mine(bo.token);
    expect(stream).toMatchObject({ status: 'live', title: 'whipbo is live' });
    const producers = srv.app.rooms.get(stream.id)!.media.getProducers();
    expect(producers.map((p) => p.source).sort()).toEqual(['camera', 'microphone']);
    expect(transportsOf(srv, stream.id)).toBe(1);
    expect(srv.app.rooms.get(stream.id)!.streamerPresent()).toBe(true);
  });

  it('answers OPTIONS for CORS with Accept-Post, GET with 204, and other methods with 405', async () => {
    const options = await http(srv.url, 'OPTIONS', '/api/whip', { headers: { origin: 'https://encoder.example', 'access-control-request-method': 'POST' } });
    expect(options.status).toBe(200);
    expect(options.headers.get('accept-post')).toBe('application/sdp');
    expect(options.headers.get('access-control-allow-origin')).toBe('*');
    expect(options.headers.get('access-control-allow-headers')).toContain('Authorization');
    expect((await http(srv.url, 'GET', '/api/whip')).status).toBe(204);
    const put = await http(srv.url, 'PUT', '/api/whip');
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('POST, OPTIONS');
  });

  it('refuses bad input with its documented status, keeps serving, and leaks no transport', async () => {
    const cy = await streamer('whipcy');
    const other = await streamer('whipcyother');
    const huge = obs + `a=x-pad:${'x'.repeat(1024 * 1024)}\r\n`;
    const cases: [string, Promise<Awaited<ReturnType<typeof whipPost>>>, number, string][] = [
      ['missing key', whipPost(srv, undefined, obs), 401, 'unauthorized'],
      ['wrong key', whipPost(srv, 'live_' + 'A'.repeat(43), obs), 401, 'unauthorized'],
      ['malformed SDP', whipPost(srv, cy.key, 'v=1\r\nhello'), 400, 'invalid_sdp'],
      ['SDP with no media', whipPost(srv, cy.key, obs.slice(0, obs.indexOf('m=audio'))), 422, 'unsupported_sdp'],
      ['1 MB body', whipPost(srv, cy.key, huge), 413, 'payload_too_large'],
      ['unsupported codecs only', whipPost(srv, cy.key, obs.replace('a=rtpmap:96 H264/90000', 'a=rtpmap:96 AV1/90000').replace('a=rtpmap:111 opus/48000/2', 'a=rtpmap:111 G722/8000')), 422, 'unsupported_sdp'],
      ['wrong content type', whipPost(srv, cy.key, obs, 'text/plain'), 415, 'unsupported_media_type'],
      ['JSON body', whipPost(srv, cy.key, JSON.stringify({ sdp: obs }), 'application/json'), 415, 'unsupported_media_type'],
      ['recvonly offer', whipPost(srv, other.key, fixture('chrome-whep.sdp')), 422, 'unsupported_sdp'],
    ];
    for (const [name, request, status, code] of cases) {
      const res = await request;
      expect({ name, status: res.status, code: res.error?.code }).toEqual({ name, status, code });
    }
    const missing = await whipPost(srv, undefined, obs);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="whip"');
    const wrong = await whipPost(srv, 'not-a-key', obs);
    expect(wrong.headers.get('www-authenticate')).toBe('Bearer realm="whip", error="invalid_token"');
    expect(await serving()).toBe(200);
    // The refused offers made no stream live and left no transport.
    for (const s of [cy, other]) {
      const res = await api(srv.url, 'GET', '/api/live/mine', { token: s.token });
      if (res.status === 200) expect(transportsOf(srv, res.body.stream.id)).toBe(0);
    }
    expect(srv.app.whip.sessions.all().filter((s) => s.user?.id === cy.id || s.user?.id === other.id)).toEqual([]);
  });

  it('rate-limits repeated wrong keys from one address like logins', async () => {
    const limited = await startTestServer();
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push((await whipPost(limited, 'live_' + String(i).padStart(43, 'x'), obs)).status);
      expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
      const last = await whipPost(limited, 'live_' + 'y'.repeat(43), obs);
      expect(last.status).toBe(429);
      expect(Number(last.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });

  it('409 for a second publisher, whether the first is an encoder or the browser studio; one of two racing POSTs wins', async () => {
    const di = await streamer('whipdi');
    const [a, b] = await Promise.all([whipPost(srv, di.key, obs), whipPost(srv, di.key, obs)]);
    expect([a.status, b.status].sort()).toEqual([201, 409]);
    expect([a, b].find((r) => r.status === 409)!.error?.code).toBe('already_publishing');
    const stream = await mine(di.token);
    expect(transportsOf(srv, stream.id)).toBe(1);

    const ed = await streamer('whiped');
    const created = await api(srv.url, 'POST', '/api/live/create', { token: ed.token, body: { title: 'from the browser' } });
    const studio = await watch(created.body.stream.id, ed.token);
    await goLive(studio);
    const refused = await whipPost(srv, ed.key, obs);
    expect(refused.status).toBe(409);
    expect(refused.error?.message).toMatch(/browser studio/);
    expect(transportsOf(srv, created.body.stream.id)).toBe(1);
  });

  it('DELETE ends the session (200); only the same key may; the stream shows reconnecting, then ends after the grace period', async () => {
    const fa = await streamer('whipfa');
    const intruder = await streamer('whipintruder');
    const res = await whipPost(srv, fa.key, obs);
    const location = res.headers.get('location')!;
    const stream = await mine(fa.token);
    const viewer = await watch(stream.id);
    expect((await http(srv.url, 'DELETE', location)).status).toBe(401);
    expect((await http(srv.url, 'DELETE', location, { key: intruder.key })).status).toBe(404);
    expect(transportsOf(srv, stream.id)).toBe(1);
    expect((await http(srv.url, 'DELETE', location, { key: fa.key })).status).toBe(200);
    expect(transportsOf(srv, stream.id)).toBe(0);
    expect((await http(srv.url, 'DELETE', location, { key: fa.key })).status).toBe(404);
    const reconnecting = await viewer.waitFor('publisher_status', (m) => m.status === 'reconnecting');
    expect(reconnecting.until).toBeGreaterThan(Date.now());
    const ended = await viewer.waitFor('stream_ended', () => true, GRACE_MS + 5000);
    expect(ended.reason).toBe('publisher_lost');
  });

  it('an encoder back within the grace period resumes the same stream', async () => {
    const gu = await streamer('whipgu');
    const first = await whipPost(srv, gu.key, obs);
    const stream = await mine(gu.token);
    const viewer = await watch(stream.id);
    await http(srv.url, 'DELETE', first.headers.get('location')!, { key: gu.key });
    await viewer.waitFor('publisher_status', (m) => m.status === 'reconnecting');
    const again = await whipPost(srv, gu.key, obs);
    expect(again.status).toBe(201);
    await viewer.waitFor('publisher_status', (m) => m.status === 'publishing');
    expect((await mine(gu.token)).id).toBe(stream.id);
    expect(srv.app.rooms.get(stream.id)!.info().reconnectingUntil).toBeUndefined();
  });

  it('the same grace applies to the browser studio: its socket drops, viewers see reconnecting, the stream ends with publisher_lost', async () => {
    const ju = await registerUser(srv.url, 'studioju');
    const created = await api(srv.url, 'POST', '/api/live/create', { token: ju.token, body: { title: 'from the browser' } });
    const studio = await TestWsClient.connect(srv.wsUrl(created.body.stream.id), { token: ju.token });
    await studio.waitFor('connection_established');
    await goLive(studio);
    const viewer = await watch(created.body.stream.id);
    await studio.close();
    expect((await viewer.waitFor('publisher_status', (m) => m.status === 'reconnecting')).until).not.toBeNull();
    expect((await viewer.waitFor('stream_ended', () => true, GRACE_MS + 5000)).reason).toBe('publisher_lost');
  });

  it('closes a session whose encoder never completes ICE and DTLS, freeing its transport', async () => {
    let clock = Date.now();
    const timed = await startTestServer({}, { now: () => clock });
    try {
      const user = await registerUser(timed.url, 'whipnever');
      const key = await rotateKey(timed, user.token);
      expect((await whipPost(timed, key, obs)).status).toBe(201);
      const [session] = timed.app.whip.sessions.all();
      const closed = new Promise<SessionCloseReason>((resolve) => session!.onClose(resolve));
      clock += SESSION_TIMING.connectTimeoutMs;
      expect(await closed).toBe('never_connected');
      expect(transportsOf(timed, session!.room.streamId)).toBe(0);
      expect(timed.app.whip.sessions.size).toBe(0);
    } finally {
      await timed.close();
    }
  });

  it('rotating the key disconnects the encoder using the old one, and the old key no longer publishes', async () => {
    const ha = await streamer('whipha');
    await whipPost(srv, ha.key, obs);
    const stream = await mine(ha.token);
    expect(transportsOf(srv, stream.id)).toBe(1);
    const fresh = await rotateKey(srv, ha.token);
    expect(transportsOf(srv, stream.id)).toBe(0);
    expect((await whipPost(srv, ha.key, obs)).status).toBe(401);
    expect((await whipPost(srv, fresh, obs)).status).toBe(201);
  });

  it('PATCH: 428 without If-Match, 412 for a stale ETag, 204 for trickle, 200 with new credentials for an ICE restart', async () => {
    const io = await streamer('whipio');
    const res = await whipPost(srv, io.key, obs);
    const location = res.headers.get('location')!;
    const etag = res.headers.get('etag')!;
    const frag = 'a=ice-ufrag:6Dk3\r\na=ice-pwd:lOKsWmFyGDvbbZ8lhwAQXY\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 UDP 2122317823 192.168.1.20 51001 typ host\r\n';
    const patch = (headers: Record<string, string>, body = frag, contentType = 'application/trickle-ice-sdpfrag') => http(srv.url, 'PATCH', location, { key: io.key, body, contentType, headers });
    expect((await patch({})).status).toBe(428);
    expect((await patch({ 'if-match': '"stale"' })).status).toBe(412);
    expect((await patch({ 'if-match': etag }, frag, 'application/sdp')).status).toBe(415);
    expect((await patch({ 'if-match': etag }, 'garbage')).status).toBe(400);
    const trickle = await patch({ 'if-match': etag });
    expect(trickle.status).toBe(204);
    expect(trickle.headers.get('etag')).toBeNull();
    const restarted = frag.replace('6Dk3', 'R3st').replace('lOKsWmFyGDvbbZ8lhwAQXY', 'newpasswordnewpassword');
    const restart = await patch({ 'if-match': '*' }, restarted);
    expect(restart.status).toBe(200);
    expect(restart.headers.get('content-type')).toBe('application/trickle-ice-sdpfrag');
    expect(restart.headers.get('etag')).not.toBe(etag);
    expect(restart.text).toMatch(/a=ice-ufrag:\S+/);
    expect(restart.text).toMatch(/a=candidate:/);
    expect(restart.text).not.toContain(answerUfrag(res.text));
    // Candidates for the new ICE session need its tag; the old one is stale.
    expect((await patch({ 'if-match': etag }, restarted)).status).toBe(412);
    expect((await patch({ 'if-match': restart.headers.get('etag')! }, restarted)).status).toBe(204);
  });
});

function answerUfrag(sdp: string): string {
  return /a=ice-ufrag:(\S+)/.exec(sdp)![1]!;
}

describe('WHEP playback', () => {
  it('plays a live stream: 201 + answer, counted as a viewer, DELETE leaves; a banned viewer is refused', async () => {
    const ki = await streamer('whepki');
    await whipPost(srv, ki.key, obs);
    const stream = await mine(ki.token);
    const room = srv.app.rooms.get(stream.id)!;
    const before = room.viewers.count;
    const res = await http(srv.url, 'POST', `/api/whep/${stream.id}`, { body: fixture('chrome-whep.sdp') });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toMatch(/^\/api\/whep\/sessions\//);
    const answer = sdpTransform.parse(res.text);
    expect(answer.media.map((m) => [m.type, m.direction])).toEqual([['audio', 'sendonly'], ['video', 'sendonly']]);
    const video = answer.media[1]!;
    expect(video.rtp.map((r) => [r.payload, r.codec])).toContainEqual([108, 'H264']);
    expect(video.ssrcs?.some((s) => s.attribute === 'cname')).toBe(true);
    expect(room.viewers.count).toBe(before + 1);
    expect((await http(srv.url, 'DELETE', res.headers.get('location')!)).status).toBe(200);
    expect(room.viewers.count).toBe(before);

    const mod = await watch(stream.id, ki.token);
    const troll = await registerUser(srv.url, 'wheptroll');
    const playing = await http(srv.url, 'POST', `/api/whep/${stream.id}?layer=low`, { body: fixture('chrome-whep.sdp'), headers: { authorization: `Bearer ${troll.token}` } });
    expect(playing.status).toBe(201);
    expect(room.viewers.has(troll.id)).toBe(true);
    const banned = await mod.request({ type: 'ban_user', userId: troll.id, reason: 'spam' });
    expect(banned.type).toBe('ack');
    expect(room.viewers.has(troll.id)).toBe(false);
    expect((await http(srv.url, 'DELETE', playing.headers.get('location')!)).status).toBe(404);
    const refused = await http(srv.url, 'POST', `/api/whep/${stream.id}`, { body: fixture('chrome-whep.sdp'), headers: { authorization: `Bearer ${troll.token}` } });
    expect(refused.status).toBe(403);
    expect(refused.error?.code).toBe('banned');
  });

  it('refuses streams that do not exist or are not live, bad layers and publishing offers', async () => {
    const whep = (path: string, body = fixture('chrome-whep.sdp')) => http(srv.url, 'POST', path, { body });
    expect((await whep('/api/whep/999999')).status).toBe(404);
    expect((await whep('/api/whep/abc')).status).toBe(404);
    const li = await registerUser(srv.url, 'whepli');
    const waiting = await api(srv.url, 'POST', '/api/live/create', { token: li.token, body: { title: 'soon' } });
    const notLive = await whep(`/api/whep/${waiting.body.stream.id}`);
    expect(notLive.status).toBe(409);
    expect(notLive.error?.code).toBe('stream_not_live');
    expect(transportsOf(srv, waiting.body.stream.id)).toBe(0);
    expect((await whep(`/api/whep/${waiting.body.stream.id}?layer=ultra`)).status).toBe(400);
    expect((await whep(`/api/whep/${waiting.body.stream.id}`, obs)).status).toBe(422);
  });
});

describe('stream details', () => {
  it('the streamer edits the title while live and every viewer hears it; others may not', async () => {
    const mo = await streamer('whipmo');
    await whipPost(srv, mo.key, obs);
    const stream = await mine(mo.token);
    const viewer = await watch(stream.id);
    const stranger = await registerUser(srv.url, 'whipstranger');
    expect((await api(srv.url, 'PATCH', `/api/live/${stream.id}`, { token: stranger.token, body: { title: 'mine now' } })).status).toBe(403);
    const edited = await api(srv.url, 'PATCH', `/api/live/${stream.id}`, { token: mo.token, body: { title: 'Speedrun, any %', description: 'no glitches' } });
    expect(edited.status).toBe(200);
    expect(edited.body.stream).toMatchObject({ title: 'Speedrun, any %', description: 'no glitches', status: 'live' });
    expect(await viewer.waitFor('stream_info')).toMatchObject({ title: 'Speedrun, any %', description: 'no glitches' });
  });
});
