import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { goLive } from '../testing/publish.ts';
import { api, registerUser, startTestServer, type TestServer } from '../testing/server.ts';
import { TestWsClient } from '../testing/ws-client.ts';
import { signWebhook } from './sender.ts';

const SECRET = 'webhook-secret-0123456789';

/** The receiver's side, as docs/webhooks.md tells integrators to write it. */
function verify(secret: string, header: string, body: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!m) return false;
  const t = Number(m[1]);
  if (Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  return timingSafeEqual(expected, Buffer.from(m[2]!, 'hex'));
}

interface Received {
  type: string;
  delivery: string;
  body: { id: string; type: string; data: Record<string, unknown> };
  verified: boolean;
}

/** A real HTTP receiver on a free port that refuses its first `failFirst` requests with 500. */
async function startReceiver(failFirst: number) {
  const accepted: Received[] = [];
  let refused = 0;
  const waiters: { type: string; resolve: (r: Received) => void }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (refused < failFirst) {
        refused++;
        res.writeHead(500).end();
        return;
      }
      const raw = Buffer.concat(chunks).toString('utf8');
      const r: Received = {
        type: String(req.headers['x-redred-event']),
        delivery: String(req.headers['x-redred-delivery']),
        body: JSON.parse(raw) as Received['body'],
        verified: verify(SECRET, String(req.headers['x-redred-signature']), raw, Math.floor(Date.now() / 1000)),
      };
      accepted.push(r);
      res.writeHead(204).end();
      for (const w of waiters.splice(0)) if (w.type === r.type) w.resolve(r);
        else waiters.push(w);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  return {
    url: `http://127.0.0.1:${address.port}/hook`,
    accepted,
    refusedCount: () => refused,
    next: (type: string) => {
      const found = accepted.find((r) => r.type === type);
      return found ? Promise.resolve(found) : new Promise<Received>((resolve) => waiters.push({ type, resolve }));
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let srv: TestServer | undefined;
let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
afterEach(async () => {
  await srv?.close();
  await receiver?.close();
});

describe('webhooks to a real receiver', () => {
  it('delivers stream.started, user.banned and stream.ended once each, signed, after the receiver failed twice', async () => {
    receiver = await startReceiver(2);
    srv = await startTestServer({ webhookUrls: [receiver.url], webhookSecret: SECRET, webhookBackoffMs: [20, 40, 80, 160] });
    const host = await registerUser(srv.url, 'hook_host');
    const troll = await registerUser(srv.url, 'hook_troll');
    const created = await api(srv.url, 'POST', '/api/live/create', { token: host.token, body: { title: 'hooked' } });
    const streamId = created.body.stream.id as number;
    const studio = await TestWsClient.connect(srv.wsUrl(streamId), { token: host.token });
    await studio.waitFor('connection_established');
    await goLive(studio);
    const started = await receiver.next('stream.started');
    expect(started.body.data).toMatchObject({ streamId, title: 'hooked', streamer: { id: host.id, username: 'hook_host' } });

    expect((await studio.request({ type: 'ban_user', userId: troll.id, reason: 'spam' })).type).toBe('ack');
    const banned = await receiver.next('user.banned');
    expect(banned.body.data).toMatchObject({ channel: { username: 'hook_host' }, user: { username: 'hook_troll' }, by: { username: 'hook_host' }, reason: 'spam', streamId });

    expect((await studio.request({ type: 'end_stream' })).type).toBe('ack');
    const ended = await receiver.next('stream.ended');
    expect(ended.body.data).toMatchObject({ streamId, reason: 'streamer_ended' });

    expect(receiver.refusedCount()).toBe(2);
    expect(receiver.accepted.every((r) => r.verified)).toBe(true);
    expect(receiver.accepted.map((r) => r.type).sort()).toEqual(['stream.ended', 'stream.started', 'user.banned']);
    expect(new Set(receiver.accepted.map((r) => r.delivery)).size).toBe(3);
    expect(receiver.accepted.every((r) => r.body.id === r.delivery && r.body.type === r.type)).toBe(true);
    await studio.close();
  });

  it("the server's signature verifies with the documented check; a wrong secret, body or an old timestamp does not", () => {
    const body = '{"x":1}';
    const t = 1_700_000_000;
    const header = signWebhook(SECRET, t, body);
    expect(verify(SECRET, header, body, t)).toBe(true);
    expect(verify('another-secret-0123456789', header, body, t)).toBe(false);
    expect(verify(SECRET, header, '{"x":2}', t)).toBe(false);
    expect(verify(SECRET, header, body, t + 3600)).toBe(false);
  });
});
