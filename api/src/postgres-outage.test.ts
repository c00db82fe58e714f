import { transitionStream } from '@redred/db';
import { describePostgres } from '@redred/db/testing';
import { afterEach, expect, it } from 'vitest';
import { TestWsClient } from './testing/ws-client.ts';
import { api, registerUser, startTestServer, type TestServer } from './testing/server.ts';

// The SQLite twin of this test is security.test.ts "storage faults" (a read-only database).
describePostgres('PostgreSQL down', (fx) => {
  let srv: TestServer | undefined;
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
  });

  it('never acknowledges a write while PostgreSQL is down, and recovers when it is back', async () => {
    srv = await startTestServer(await fx.serverStorage());
    expect(srv.app.dbHandle.dialect).toBe('postgres');
    const host = await registerUser(srv.url, 'pg_host');
    const id = (await api(srv.url, 'POST', '/api/live/create/', { token: host.token, body: { title: 'pg' } })).body.stream.id as number;
    await transitionStream(srv.app.db, id, 'live', { now: Date.now() });
    const streamer = await TestWsClient.connect(srv.wsUrl(id), { token: host.token });
    const viewer = await TestWsClient.connect(srv.wsUrl(id));
    await Promise.all([streamer.waitFor('chat_history'), viewer.waitFor('chat_history')]);

    await fx.postgres!.halt();
    const reg = await api(srv.url, 'POST', '/api/auth/register', { body: { username: 'pg_new', password: 'correct horse battery' } });
    expect(reg.status).toBe(503);
    expect(reg.body.error.code).toBe('unavailable');
    const refused = await streamer.request({ type: 'comment', content: 'lost?' });
    expect(refused).toMatchObject({ type: 'error', error: { code: 'unavailable' } });
    expect(await streamer.request({ type: 'timeout_user', userId: host.id + 1000, durationSeconds: 60 })).toMatchObject({ type: 'error', error: { code: 'unavailable' } });

    await fx.postgres!.resume();
    expect((await srv.app.db.selectFrom('users').select('username').execute()).map((u) => u.username)).toEqual(['pg_host']);
    expect(await srv.app.db.selectFrom('live_stream_comments').select('id').where('stream_id', '=', id).execute()).toEqual([]);
    const ok = await streamer.request({ type: 'comment', content: 'back' });
    expect(ok.type).toBe('comment_ack');
    // A socket's messages arrive in order: had the refused comment been broadcast, it would come first.
    await viewer.waitFor('comment', (m) => m.comment.content === 'back');
    expect(viewer.of('comment').map((m) => m.comment.content)).toEqual(['back']);
  });
});
