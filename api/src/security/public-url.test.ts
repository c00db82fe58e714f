import { afterEach, describe, expect, it } from 'vitest';
import { turnCredential } from '../auth/turn-credentials.ts';
import { api, registerUser, startTestServer, type TestServer } from '../testing/server.ts';
import { TestWsClient } from '../testing/ws-client.ts';

// Behind a proxy that rewrites Host, requests arrive for 127.0.0.1:<port> while the
// browser's Origin is the public one: exactly what a test client on 127.0.0.1 sends.
const PUBLIC = 'https://live.example.com';
const SECRET = 'north-wind-0123456789';

const servers: TestServer[] = [];
const clients: TestWsClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(publicUrl: string | undefined): Promise<TestServer> {
  const srv = await startTestServer({ publicUrl, turn: { urls: ['turn:127.0.0.1:3478?transport=udp'], secret: SECRET, ttlSeconds: 3600 } });
  servers.push(srv);
  return srv;
}

async function sessionCookie(srv: TestServer, username: string): Promise<{ cookie: string; id: number }> {
  const res = await api(srv.url, 'POST', '/api/auth/register', { body: { username, password: 'correct horse battery' } });
  return { cookie: res.headers.get('set-cookie')!.split(';')[0]!, id: res.body.user.id };
}

describe('PUBLIC_URL behind a Host-rewriting proxy', () => {
  it('accepts cookie writes and WebSockets from the public origin, and only with PUBLIC_URL set', async () => {
    for (const [publicUrl, allowed] of [[PUBLIC, true], [undefined, false]] as const) {
      const srv = await start(publicUrl);
      const { cookie } = await sessionCookie(srv, `pub_${allowed}`);
      const write = await api(srv.url, 'POST', '/api/live/create/', { body: { title: 'behind a proxy' }, headers: { cookie, origin: PUBLIC } });
      expect(write.status, `PUBLIC_URL=${publicUrl}`).toBe(allowed ? 201 : 403);
      if (!allowed) {
        expect(write.body.error.code).toBe('csrf_rejected');
        continue;
      }
      const foreign = await api(srv.url, 'POST', '/api/auth/logout', { headers: { cookie, origin: 'https://evil.example' } });
      expect(foreign.body.error.code).toBe('csrf_rejected');
      const streamId = write.body.stream.id as number;
      const ws = await TestWsClient.connect(srv.wsUrl(streamId), { origin: PUBLIC, headers: { cookie } });
      clients.push(ws);
      expect((await ws.waitFor('connection_established')).role).toBe('streamer');
      await expect(TestWsClient.connect(srv.wsUrl(streamId), { origin: 'https://evil.example', headers: { cookie } })).rejects.toThrow(/403/);
    }
    const plain = servers[1]!;
    const host = await registerUser(plain.url, 'pub_host');
    const streamId = (await api(plain.url, 'POST', '/api/live/create/', { token: host.token, body: { title: 'x' } })).body.stream.id as number;
    await expect(TestWsClient.connect(plain.wsUrl(streamId), { origin: PUBLIC })).rejects.toThrow(/403/);
  });

  it('hands each connection TURN credentials for its user that coturn can verify with the shared secret', async () => {
    const srv = await start(PUBLIC);
    const user = await registerUser(srv.url, 'turn_user');
    const streamId = (await api(srv.url, 'POST', '/api/live/create/', { token: user.token, body: { title: 'x' } })).body.stream.id as number;
    const before = Math.floor(Date.now() / 1000);
    const signedIn = await TestWsClient.connect(srv.wsUrl(streamId), { token: user.token });
    const anonymous = await TestWsClient.connect(srv.wsUrl(streamId));
    clients.push(signedIn, anonymous);
    for (const [client, who] of [[signedIn, String(user.id)], [anonymous, 'anon']] as const) {
      const [relay] = (await client.waitFor('connection_established')).iceServers;
      expect(relay!.urls).toEqual(['turn:127.0.0.1:3478?transport=udp']);
      const [expiry, name] = relay!.username!.split(':');
      expect(name).toBe(who);
      expect(Number(expiry)).toBeGreaterThanOrEqual(before + 3600);
      expect(Number(expiry)).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 3600);
      expect(relay!.credential).toBe(turnCredential(SECRET, relay!.username!));
    }
  });
});
