import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goLive } from '../testing/publish.ts';
import { api, registerUser, startTestServer, type TestServer } from '../testing/server.ts';
import { TestWsClient } from '../testing/ws-client.ts';

let srv: TestServer;
let clientDir: string;
beforeAll(async () => {
  // A stand-in for the built client: the routes under test only choose headers and serve index.html.
  clientDir = mkdtempSync(join(tmpdir(), 'redred-client-'));
  mkdirSync(clientDir, { recursive: true });
  writeFileSync(join(clientDir, 'index.html'), '<!doctype html><title>app</title>');
  srv = await startTestServer({ clientDir, embedOrigins: ['https://blog.example.com'] });
});
afterAll(async () => {
  await srv.close();
  rmSync(clientDir, { recursive: true, force: true });
});

describe('channel pages over real HTTP', () => {
  it('offline with no past streams, then live, then offline with the stream in the past list and its end reason', async () => {
    const ana = await registerUser(srv.url, 'Chan_Ana');
    const offline = await api(srv.url, 'GET', '/api/channels/chan_ana');
    expect(offline.body).toEqual({ channel: { id: ana.id, username: 'Chan_Ana' }, current: null, past: [] });

    const created = await api(srv.url, 'POST', '/api/live/create', { token: ana.token, body: { title: 'first show' } });
    const id = created.body.stream.id as number;
    const studio = await TestWsClient.connect(srv.wsUrl(id), { token: ana.token });
    await studio.waitFor('connection_established');
    await goLive(studio);
    const live = await api(srv.url, 'GET', '/api/channels/Chan_Ana');
    expect(live.body.current).toMatchObject({ id, status: 'live', title: 'first show' });

    expect((await studio.request({ type: 'end_stream' })).type).toBe('ack');
    const after = await api(srv.url, 'GET', '/api/channels/Chan_Ana');
    expect(after.body.current).toBeNull();
    expect(after.body.past).toEqual([expect.objectContaining({ id, status: 'ended', endReason: 'streamer_ended' })]);
    // The ended stream's own address still answers, with its summary.
    expect((await api(srv.url, 'GET', `/api/live/${id}`)).body.stream).toMatchObject({ status: 'ended', endReason: 'streamer_ended', startedAt: expect.any(Number) });
    await studio.close();
  });

  it('an unknown channel is 404 user_not_found', async () => {
    const res = await api(srv.url, 'GET', '/api/channels/nobody_here');
    expect({ status: res.status, code: res.body.error.code }).toEqual({ status: 404, code: 'user_not_found' });
  });

  it('serves /c/ and /embed/ pages; only /embed/ may be framed, by EMBED_ORIGINS', async () => {
    const page = await fetch(`${srv.url}/c/someone`);
    expect(page.status).toBe(200);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const embed = await fetch(`${srv.url}/embed/someone`);
    expect(embed.status).toBe(200);
    expect(embed.headers.get('x-frame-options')).toBeNull();
    expect(embed.headers.get('content-security-policy')).toMatch(/frame-ancestors 'self' https:\/\/blog\.example\.com$/);
  });
});
