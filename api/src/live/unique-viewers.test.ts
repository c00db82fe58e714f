import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goLive } from '../testing/publish.ts';
import { api, closeSeenByServer, registerUser, startTestServer, type TestServer } from '../testing/server.ts';
import { TestWsClient } from '../testing/ws-client.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(() => srv.close());

/** What a browser does: load a page (which hands out the visitor cookie), then open the socket with it. */
async function visitorCookie(): Promise<string> {
  const res = await fetch(`${srv.url}/api/live/`);
  const setCookie = res.headers.get('set-cookie') ?? '';
  const m = /redred_vid=([A-Za-z0-9_-]{22});/.exec(setCookie);
  if (!m) throw new Error(`no visitor cookie in "${setCookie}"`);
  expect(setCookie).toMatch(/HttpOnly/i);
  return `redred_vid=${m[1]}`;
}

describe('unique viewers count people', () => {
  it('2 signed-in viewers and 1 anonymous viewer who reloaded twice are 3 unique viewers', async () => {
    const host = await registerUser(srv.url, 'uniq_host');
    const created = await api(srv.url, 'POST', '/api/live/create', { token: host.token, body: { title: 'count me' } });
    const id = created.body.stream.id as number;
    const studio = await TestWsClient.connect(srv.wsUrl(id), { token: host.token });
    await studio.waitFor('connection_established');
    await goLive(studio);

    const [ana, bo] = [await registerUser(srv.url, 'uniq_ana'), await registerUser(srv.url, 'uniq_bo')];
    const cookie = await visitorCookie();
    const stay: TestWsClient[] = [];
    for (const token of [ana.token, bo.token]) {
      const ws = await TestWsClient.connect(srv.wsUrl(id), { token });
      await ws.waitFor('connection_established');
      stay.push(ws);
    }
    // The anonymous visitor reloads twice: three sockets one after the other, one cookie.
    for (let i = 0; i < 3; i++) {
      const ws = await TestWsClient.connect(srv.wsUrl(id), { headers: { cookie } });
      await ws.waitFor('connection_established');
      await closeSeenByServer(srv, ws);
    }
    const last = await TestWsClient.connect(srv.wsUrl(id), { headers: { cookie } });
    await last.waitFor('connection_established');
    // Two tabs of one visitor are one viewer too.
    const secondTab = await TestWsClient.connect(srv.wsUrl(id), { headers: { cookie } });
    await secondTab.waitFor('connection_established');
    await studio.waitFor('viewers_update', (m) => m.viewers === 3);
    const stats = await api(srv.url, 'GET', `/api/live/${id}/stats`);
    expect(stats.body.stats).toMatchObject({ viewers: 3, uniqueViewers: 3 });

    // Without the cookie (a client that never loaded a page) each socket is its own viewer, as before.
    const bare = await TestWsClient.connect(srv.wsUrl(id));
    await bare.waitFor('connection_established');
    await studio.waitFor('viewers_update', (m) => m.viewers === 4);
    expect((await api(srv.url, 'GET', `/api/live/${id}/stats`)).body.stats).toMatchObject({ viewers: 4, uniqueViewers: 4 });
    await Promise.all([...stay, last, secondTab, bare, studio].map((c) => c.close()));
  });

  it('keeps a well-formed cookie and replaces a forged one', async () => {
    const good = await visitorCookie();
    expect((await fetch(`${srv.url}/api/live/`, { headers: { cookie: good } })).headers.get('set-cookie')).toBeNull();
    expect((await fetch(`${srv.url}/api/live/`, { headers: { cookie: 'redred_vid=<script>' } })).headers.get('set-cookie')).toMatch(/redred_vid=[A-Za-z0-9_-]{22};/);
  });
});
