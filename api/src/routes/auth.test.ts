import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, registerUser, startTestServer, type TestServer } from '../testing/server.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(() => srv.close());

describe('accounts over real HTTP', () => {
  it('registers, logs in, answers who-am-I, and logs out', async () => {
    const reg = await api(srv.url, 'POST', '/api/auth/register', { body: { username: 'Alice_1', password: 'correct horse battery' } });
    expect(reg.status).toBe(201);
    expect(reg.body.user.username).toBe('Alice_1');
    expect(reg.headers.get('set-cookie')).toMatch(/redred_session=.*HttpOnly.*SameSite=Lax/i);

    const login = await api(srv.url, 'POST', '/api/auth/login', { body: { username: 'alice_1', password: 'correct horse battery' } });
    expect(login.status).toBe(200);
    const token = login.body.token as string;
    expect(token.length).toBeGreaterThanOrEqual(22); // ≥ 128 bits in base64url

    const me = await api(srv.url, 'GET', '/api/auth/me', { token });
    expect(me).toMatchObject({ status: 200, body: { user: { username: 'Alice_1' } } });

    const out = await api(srv.url, 'POST', '/api/auth/logout', { token });
    expect(out.status).toBe(204);
    expect((await api(srv.url, 'GET', '/api/auth/me', { token })).body.error.code).toBe('unauthorized');
  });

  it('accepts the session cookie for who-am-I', async () => {
    const reg = await api(srv.url, 'POST', '/api/auth/register', { body: { username: 'cookie_user', password: 'correct horse battery' } });
    const cookie = reg.headers.get('set-cookie')!.split(';')[0]!;
    const me = await api(srv.url, 'GET', '/api/auth/me', { headers: { cookie } });
    expect(me.body.user.username).toBe('cookie_user');
  });

  it('refuses bad input with documented codes and changes nothing', async () => {
    await registerUser(srv.url, 'Bob');
    const before = await srv.app.db.selectFrom('users').selectAll().execute();
    const cases: [unknown, string | undefined, number, string][] = [
      [{ username: 'bob', password: 'another password' }, undefined, 409, 'username_taken'],
      [{ username: 'BOB', password: 'another password' }, undefined, 409, 'username_taken'],
      [{ username: '', password: 'another password' }, undefined, 400, 'invalid_username'],
      [{ username: 'x'.repeat(33), password: 'another password' }, undefined, 400, 'invalid_username'],
      [{ username: 'bad name!', password: 'another password' }, undefined, 400, 'invalid_username'],
      [{ username: 'newuser', password: 'short' }, undefined, 400, 'invalid_password'],
      [{ username: 'newuser', password: 'p'.repeat(257) }, undefined, 400, 'invalid_password'],
      [{ username: 'newuser' }, undefined, 400, 'validation_failed'],
      [undefined, '{"username": "x", ', 400, 'invalid_json'],
    ];
    for (const [body, rawBody, status, code] of cases) {
      const res = await api(srv.url, 'POST', '/api/auth/register', { ...(body !== undefined ? { body } : {}), ...(rawBody ? { rawBody } : {}) });
      expect({ status: res.status, code: res.body.error.code }).toEqual({ status, code });
      expect(typeof res.body.error.message).toBe('string');
    }
    expect(await srv.app.db.selectFrom('users').selectAll().execute()).toEqual(before);
  });

  it('rejects a wrong password and an unknown user alike', async () => {
    await registerUser(srv.url, 'carol');
    const wrong = await api(srv.url, 'POST', '/api/auth/login', { body: { username: 'carol', password: 'not the password' } });
    const unknown = await api(srv.url, 'POST', '/api/auth/login', { body: { username: 'nobody_here', password: 'not the password' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('invalid_credentials');
    expect(unknown.body).toEqual(wrong.body);
  });

  it('answers an unknown route with not_found', async () => {
    const res = await api(srv.url, 'GET', '/api/nope');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });

  it('rate limits repeated wrong passwords for one account, with Retry-After', async () => {
    await registerUser(srv.url, 'dave');
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 20; i++) {
      const res = await api(srv.url, 'POST', '/api/auth/login', { body: { username: 'dave', password: `wrong-${i}-password` } });
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get('retry-after');
    }
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(10).every((s) => s === 429)).toBe(true);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    // Even the right password waits out the lock: guessing cannot continue.
    const right = await api(srv.url, 'POST', '/api/auth/login', { body: { username: 'dave', password: 'correct horse battery' } });
    expect(right.status).toBe(429);
  });

  it('refuses a cookie-authenticated write from a foreign origin (CSRF)', async () => {
    const reg = await api(srv.url, 'POST', '/api/auth/register', { body: { username: 'erin', password: 'correct horse battery' } });
    const cookie = reg.headers.get('set-cookie')!.split(';')[0]!;
    const foreign = await api(srv.url, 'POST', '/api/live/create/', { body: { title: 'x' }, headers: { cookie, origin: 'https://evil.example' } });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error.code).toBe('csrf_rejected');
    const same = await api(srv.url, 'POST', '/api/live/create/', { body: { title: 'x' }, headers: { cookie, origin: srv.url } });
    expect(same.status).toBe(201);
  });

  it('sends security headers', async () => {
    const res = await api(srv.url, 'GET', '/health');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
  });
});
