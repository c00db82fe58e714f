import { afterEach, describe, expect, it } from 'vitest';
import { transitionStream } from '@redred/db';
import { TestWsClient } from './testing/ws-client.ts';
import { api, registerUser, startTestServer, type TestServer } from './testing/server.ts';

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

describe('sessions at the WebSocket edge', () => {
  it('treats an expired session as anonymous: it can watch but not comment or moderate', async () => {
    let clock = Date.now();
    srv = await startTestServer({ sessionTtlMs: 60_000 }, { now: () => clock });
    const host = await registerUser(srv.url, 'exp_host');
    const user = await registerUser(srv.url, 'exp_user');
    const id = (await api(srv.url, 'POST', '/api/live/create/', { token: host.token, body: { title: 'x' } })).body.stream.id as number;
    const fresh = await TestWsClient.connect(srv.wsUrl(id), { token: user.token });
    expect((await fresh.waitFor('connection_established')).role).toBe('viewer');
    clock += 61_000;
    const expired = await TestWsClient.connect(srv.wsUrl(id), { token: user.token });
    expect((await expired.waitFor('connection_established')).role).toBe('anonymous');
    expect(await expired.request({ type: 'comment', content: 'hello' })).toMatchObject({ type: 'error', error: { code: 'unauthorized' } });
    expect(await expired.request({ type: 'delete_comment', commentId: 1 })).toMatchObject({ type: 'error', error: { code: 'forbidden' } });
    expect((await api(srv.url, 'GET', '/api/auth/me', { token: user.token })).status).toBe(401);
  });
});

describe('storage faults', () => {
  it('never acknowledges a write SQLite refused, and recovers when storage does', async () => {
    srv = await startTestServer();
    const host = await registerUser(srv.url, 'ro_host');
    const id = (await api(srv.url, 'POST', '/api/live/create/', { token: host.token, body: { title: 'ro' } })).body.stream.id as number;
    await transitionStream(srv.app.db, id, 'live', { now: Date.now() });
    const streamer = await TestWsClient.connect(srv.wsUrl(id), { token: host.token });
    const viewer = await TestWsClient.connect(srv.wsUrl(id));
    await viewer.waitFor('connection_established');
    const users = await srv.app.db.selectFrom('users').selectAll().execute();

    // The database refuses writes (as on a read-only or full disk): SQLITE_READONLY.
    const handle = srv.app.dbHandle;
    if (handle.dialect !== 'sqlite') throw new Error('this test drives SQLite');
    handle.sqlite.pragma('query_only = 1');
    const reg = await api(srv.url, 'POST', '/api/auth/register', { body: { username: 'ro_new', password: 'correct horse battery' } });
    expect(reg.status).toBe(503);
    expect(reg.body.error.code).toBe('unavailable');
    const refused = await streamer.request({ type: 'comment', content: 'lost?' });
    expect(refused).toMatchObject({ type: 'error', error: { code: 'unavailable' } });

    handle.sqlite.pragma('query_only = 0');
    expect(await srv.app.db.selectFrom('users').selectAll().execute()).toEqual(users);
    expect(await srv.app.db.selectFrom('live_stream_comments').select('id').where('stream_id', '=', id).execute()).toEqual([]);
    const ok = await streamer.request({ type: 'comment', content: 'back' });
    expect(ok.type).toBe('comment_ack');
    // A socket's messages arrive in order: had the refused comment been broadcast, it would come first.
    await viewer.waitFor('comment', (m) => m.comment.content === 'back');
    expect(viewer.of('comment').map((m) => m.comment.content)).toEqual(['back']);
  });
});
