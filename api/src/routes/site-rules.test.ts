import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishCamera } from '../testing/publish.ts';
import { api, registerUser, startTestServer, type TestServer } from '../testing/server.ts';
import { TestWsClient } from '../testing/ws-client.ts';

const PASSWORD = 'correct horse battery';

describe('REGISTRATION: open, invite, closed', () => {
  let srv: TestServer;
  let admin: { token: string };
  beforeAll(async () => {
    srv = await startTestServer({ adminUsernames: ['boss'] });
    admin = await registerUser(srv.url, 'boss');
  });
  afterAll(() => srv.close());

  const signUp = (username: string, inviteCode?: string) =>
    api(srv.url, 'POST', '/api/auth/register', { body: { username, password: PASSWORD, ...(inviteCode === undefined ? {} : { inviteCode }) } });
  const setMode = (registration: string) => api(srv.url, 'PATCH', '/api/admin/settings', { token: admin.token, body: { registration } });

  it('open lets anyone sign up; closed refuses and keeps no account; the mode is public', async () => {
    expect((await signUp('first_open')).status).toBe(201);
    expect((await setMode('closed')).body).toEqual({ registration: 'closed', streaming: 'everyone' });
    expect((await api(srv.url, 'GET', '/api/site')).body).toEqual({ registration: 'closed' });
    const refused = await signUp('too_late');
    expect({ status: refused.status, code: refused.body.error.code }).toEqual({ status: 403, code: 'registration_closed' });
    expect(await srv.app.db.selectFrom('users').select('id').where('username_key', '=', 'too_late').execute()).toEqual([]);
    expect((await api(srv.url, 'POST', '/api/auth/login', { body: { username: 'first_open', password: PASSWORD } })).status).toBe(200);
  });

  it('invite needs a code an admin made, and each code works once', async () => {
    await setMode('invite');
    expect((await signUp('no_code')).body.error.code).toBe('invite_required');
    expect((await signUp('bad_code', 'not-a-real-code')).body.error.code).toBe('invalid_invite');
    const plain = await registerUserWhileOpen();
    expect((await api(srv.url, 'POST', '/api/admin/invites', { token: plain.token, body: {} })).status).toBe(403);
    const invite = await api(srv.url, 'POST', '/api/admin/invites', { token: admin.token, body: { validHours: 2 } });
    expect(invite.status).toBe(201);
    expect((await signUp('invited', invite.body.code)).status).toBe(201);
    expect((await signUp('second_use', invite.body.code)).body.error.code).toBe('invalid_invite');
    // A refused sign-up leaves its name free.
    expect((await signUp('no_code', (await api(srv.url, 'POST', '/api/admin/invites', { token: admin.token, body: {} })).body.code)).status).toBe(201);
  });

  async function registerUserWhileOpen() {
    await setMode('open');
    const u = await registerUser(srv.url, `plain_${Date.now() % 100000}`);
    await setMode('invite');
    return u;
  }
});

describe('REGISTRATION from the environment', () => {
  it('REGISTRATION=closed refuses sign-ups from the start', async () => {
    const srv = await startTestServer({ registration: 'closed' });
    try {
      expect((await api(srv.url, 'POST', '/api/auth/register', { body: { username: 'nobody', password: PASSWORD } })).body.error.code).toBe('registration_closed');
    } finally {
      await srv.close();
    }
  });
});

describe('STREAMING=approved', () => {
  let srv: TestServer;
  let admin: { token: string };
  beforeAll(async () => {
    srv = await startTestServer({ adminUsernames: ['boss'], streaming: 'approved' });
    admin = await registerUser(srv.url, 'boss');
  });
  afterAll(() => srv.close());

  const approve = (id: number, value: boolean) => api(srv.url, 'POST', `/api/admin/users/${id}/may-stream`, { token: admin.token, body: { value } });

  it('a user nobody approved cannot open a stream; an admin can', async () => {
    const ana = await registerUser(srv.url, 'ana_unapproved');
    const refused = await api(srv.url, 'POST', '/api/live/create', { token: ana.token, body: { title: 'nope' } });
    expect({ status: refused.status, code: refused.body.error.code }).toEqual({ status: 403, code: 'streaming_not_approved' });
    expect((await api(srv.url, 'POST', '/api/live/create', { token: admin.token, body: { title: 'admin show' } })).status).toBe(201);
    await approve(ana.id, true);
    expect((await api(srv.url, 'POST', '/api/live/create', { token: ana.token, body: { title: 'now yes' } })).status).toBe(201);
  });

  it('an approval revoked stops WebSocket publishing and WHIP, with the same code', async () => {
    const bo = await registerUser(srv.url, 'bo_revoked');
    await approve(bo.id, true);
    const created = await api(srv.url, 'POST', '/api/live/create', { token: bo.token, body: { title: 'soon revoked' } });
    const key = (await api(srv.url, 'POST', '/api/stream-key', { token: bo.token })).body.key as string;
    const whip = (token: string) => fetch(`${srv.url}/api/whip`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/sdp' }, body: 'v=0\r\n' });
    // Approved: WHIP gets past the gate to the SDP check.
    expect((await whip(key)).status).toBe(400);
    await approve(bo.id, false);

    const studio = await TestWsClient.connect(srv.wsUrl(created.body.stream.id), { token: bo.token });
    await studio.waitFor('connection_established');
    const transport = await studio.request({ type: 'create_transport', direction: 'send' });
    expect(transport).toMatchObject({ type: 'error', error: { code: 'streaming_not_approved' } });
    const res = await whip(key);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('streaming_not_approved');

    await approve(bo.id, true);
    await publishCamera(studio);
    expect((await studio.waitFor('stream_live')).type).toBe('stream_live');
    await studio.close();
  });
});
