import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goLive } from '../testing/publish.ts';
import { api, registerUser, startTestServer, type TestServer } from '../testing/server.ts';
import { TestWsClient } from '../testing/ws-client.ts';

let srv: TestServer;
let root: { token: string; id: number };
beforeAll(async () => {
  srv = await startTestServer({ adminUsernames: ['Root'] });
  root = await registerUser(srv.url, 'Root');
});
afterAll(() => srv.close());

const ADMIN_ROUTES: [string, string, unknown?][] = [
  ['GET', '/api/admin/streams'],
  ['POST', '/api/admin/streams/1/end', { reason: 'x' }],
  ['GET', '/api/admin/users?q=a'],
  ['POST', '/api/admin/users/1/disable', { disabled: true }],
  ['POST', '/api/admin/users/1/delete', { deleteComments: false }],
  ['POST', '/api/admin/users/1/logout'],
  ['POST', '/api/admin/users/1/reset-link'],
  ['POST', '/api/admin/users/1/admin', { value: true }],
  ['POST', '/api/admin/users/1/may-stream', { value: true }],
  ['GET', '/api/admin/settings'],
  ['PATCH', '/api/admin/settings', { registration: 'closed' }],
  ['GET', '/api/admin/log'],
];

describe('site admin over real HTTP', () => {
  it('refuses every admin route to anonymous visitors (401) and to plain users (403), changing nothing', async () => {
    const plain = await registerUser(srv.url, 'plain_user');
    for (const [method, path, body] of ADMIN_ROUTES) {
      const anon = await api(srv.url, method, path, body === undefined ? {} : { body });
      expect({ path, status: anon.status, code: anon.body.error.code }).toEqual({ path, status: 401, code: 'unauthorized' });
      const user = await api(srv.url, method, path, { token: plain.token, ...(body === undefined ? {} : { body }) });
      expect({ path, status: user.status, code: user.body.error.code }).toEqual({ path, status: 403, code: 'forbidden' });
    }
    expect(await srv.app.db.selectFrom('admin_log').selectAll().execute()).toEqual([]);
    expect((await api(srv.url, 'GET', '/api/auth/me', { token: plain.token })).body.admin).toBe(false);
    expect((await api(srv.url, 'GET', '/api/auth/me', { token: root.token })).body.admin).toBe(true);
  });

  it('ends a live stream with a reason its viewers are told, and audits it', async () => {
    const streamer = await registerUser(srv.url, 'live_one');
    const created = await api(srv.url, 'POST', '/api/live/create', { token: streamer.token, body: { title: 'show' } });
    const id = created.body.stream.id as number;
    const studio = await TestWsClient.connect(srv.wsUrl(id), { token: streamer.token });
    await studio.waitFor('connection_established');
    await goLive(studio);
    const viewer = await TestWsClient.connect(srv.wsUrl(id));
    await viewer.waitFor('connection_established');

    const listed = await api(srv.url, 'GET', '/api/admin/streams', { token: root.token });
    expect(listed.body.streams.map((s: { id: number }) => s.id)).toContain(id);
    const ended = await api(srv.url, 'POST', `/api/admin/streams/${id}/end`, { token: root.token, body: { reason: 'breaks the rules' } });
    expect(ended.status).toBe(200);
    expect(ended.body.stream.status).toBe('ended');
    expect((await viewer.waitFor('stream_ended')).reason).toBe('admin_ended: breaks the rules');
    expect((await studio.waitFor('stream_ended')).reason).toBe('admin_ended: breaks the rules');
    expect((await api(srv.url, 'POST', `/api/admin/streams/${id}/end`, { token: root.token, body: {} })).body.error.code).toBe('stream_ended');
    const log = await api(srv.url, 'GET', '/api/admin/log', { token: root.token });
    expect(log.body.entries[0]).toMatchObject({ action: 'stream_ended', actor: 'Root', targetUser: 'live_one', targetStreamId: id, reason: 'breaks the rules' });
    await Promise.all([viewer.close(), studio.close()]);
  });

  it('searches users, disables one (sessions refused, sign-in refused) and enables them again', async () => {
    const mallory = await registerUser(srv.url, 'mallory_x');
    const found = await api(srv.url, 'GET', '/api/admin/users?q=MALLORY', { token: root.token });
    expect(found.body.users.map((u: { username: string }) => u.username)).toEqual(['mallory_x']);
    const off = await api(srv.url, 'POST', `/api/admin/users/${mallory.id}/disable`, { token: root.token, body: { disabled: true, reason: 'spam' } });
    expect(off.body.user.disabledAt).toEqual(expect.any(Number));
    expect((await api(srv.url, 'GET', '/api/auth/me', { token: mallory.token })).status).toBe(401);
    const login = await api(srv.url, 'POST', '/api/auth/login', { body: { username: 'mallory_x', password: 'correct horse battery' } });
    expect({ status: login.status, code: login.body.error.code }).toEqual({ status: 403, code: 'account_disabled' });
    await api(srv.url, 'POST', `/api/admin/users/${mallory.id}/disable`, { token: root.token, body: { disabled: false } });
    expect((await api(srv.url, 'POST', '/api/auth/login', { body: { username: 'mallory_x', password: 'correct horse battery' } })).status).toBe(200);
    const self = await api(srv.url, 'POST', `/api/admin/users/${root.id}/disable`, { token: root.token, body: { disabled: true } });
    expect(self.body.error.code).toBe('invalid_target');
  });

  it('forces a logout everywhere, and a reset link sets a new password once', async () => {
    const dana = await registerUser(srv.url, 'dana_r');
    // A socket opened with the session ends with it.
    const created = await api(srv.url, 'POST', '/api/live/create', { token: dana.token, body: { title: 'dana' } });
    const socket = await TestWsClient.connect(srv.wsUrl(created.body.stream.id as number), { token: dana.token });
    await socket.waitFor('connection_established');
    const out = await api(srv.url, 'POST', `/api/admin/users/${dana.id}/logout`, { token: root.token });
    expect(out.body).toEqual({ sessionsEnded: 1 });
    expect(await socket.closedPromise).toBe(4005);
    expect((await api(srv.url, 'GET', '/api/auth/me', { token: dana.token })).status).toBe(401);
    const link = await api(srv.url, 'POST', `/api/admin/users/${dana.id}/reset-link`, { token: root.token });
    expect(link.body.url).toMatch(/\/reset-password#token=[A-Za-z0-9_-]{43}$/);
    const token = (link.body.url as string).split('#token=')[1]!;
    expect((await api(srv.url, 'POST', '/api/auth/reset-password', { body: { token, password: 'short' } })).body.error.code).toBe('invalid_password');
    // Signed in again meanwhile: the reset ends that session, and its socket.
    const again = await api(srv.url, 'POST', '/api/auth/login', { body: { username: 'dana_r', password: 'correct horse battery' } });
    const socket2 = await TestWsClient.connect(srv.wsUrl(created.body.stream.id as number), { token: again.body.token as string });
    await socket2.waitFor('connection_established');
    expect((await api(srv.url, 'POST', '/api/auth/reset-password', { body: { token, password: 'a brand new secret' } })).status).toBe(204);
    expect(await socket2.closedPromise).toBe(4005);
    expect((await api(srv.url, 'POST', '/api/auth/reset-password', { body: { token, password: 'a brand new secret' } })).body.error.code).toBe('invalid_reset_token');
    expect((await api(srv.url, 'POST', '/api/auth/login', { body: { username: 'dana_r', password: 'correct horse battery' } })).status).toBe(401);
    expect((await api(srv.url, 'POST', '/api/auth/login', { body: { username: 'dana_r', password: 'a brand new secret' } })).status).toBe(200);
  });

  it('deletes an account with its comments or without them; the name is free again', async () => {
    const streamer = await registerUser(srv.url, 'chat_host');
    const created = await api(srv.url, 'POST', '/api/live/create', { token: streamer.token, body: { title: 'chat' } });
    const id = created.body.stream.id as number;
    const studio = await TestWsClient.connect(srv.wsUrl(id), { token: streamer.token });
    await studio.waitFor('connection_established');
    await goLive(studio);
    const [keep, drop] = [await registerUser(srv.url, 'keeps_words'), await registerUser(srv.url, 'loses_words')];
    for (const u of [keep, drop]) {
      const ws = await TestWsClient.connect(srv.wsUrl(id), { token: u.token });
      await ws.waitFor('connection_established');
      expect((await ws.request({ type: 'comment', content: `hello from ${u.username}` })).type).toBe('comment_ack');
      await ws.close();
    }
    const a = await api(srv.url, 'POST', `/api/admin/users/${keep.id}/delete`, { token: root.token, body: { deleteComments: false } });
    const b = await api(srv.url, 'POST', `/api/admin/users/${drop.id}/delete`, { token: root.token, body: { deleteComments: true, reason: 'abuse' } });
    expect(a.body).toMatchObject({ commentsDeleted: 0, user: { username: `deleted-${keep.id}` } });
    expect(b.body).toMatchObject({ commentsDeleted: 1, user: { username: `deleted-${drop.id}` } });
    const visible = await srv.app.db.selectFrom('live_stream_comments').select(['user_id']).where('stream_id', '=', id).where('deleted_at', 'is', null).execute();
    expect(visible.map((c) => c.user_id)).toEqual([keep.id]);
    expect((await api(srv.url, 'GET', '/api/auth/me', { token: keep.token })).status).toBe(401);
    await registerUser(srv.url, 'keeps_words');
    expect((await api(srv.url, 'POST', `/api/admin/users/${keep.id}/delete`, { token: root.token, body: { deleteComments: false } })).body.error.code).toBe('user_not_found');
    await studio.close();
  });

  it('a promoted admin may act at once; demoted, refused at once', async () => {
    const eve = await registerUser(srv.url, 'eve_admin');
    await api(srv.url, 'POST', `/api/admin/users/${eve.id}/admin`, { token: root.token, body: { value: true } });
    expect((await api(srv.url, 'GET', '/api/admin/users', { token: eve.token })).status).toBe(200);
    await api(srv.url, 'POST', `/api/admin/users/${eve.id}/admin`, { token: root.token, body: { value: false } });
    expect((await api(srv.url, 'GET', '/api/admin/users', { token: eve.token })).status).toBe(403);
  });
});
