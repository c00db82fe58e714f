import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, registerUser, startTestServer, type TestServer } from '../testing/server.ts';
import { TestWsClient } from '../testing/ws-client.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(() => srv.close());

async function join(streamId: number, token: string): Promise<{ ws: TestWsClient; refused: string | null }> {
  const ws = await TestWsClient.connect(srv.wsUrl(streamId), { token });
  const refused = await Promise.race([ws.waitFor('connection_established').then(() => null), ws.waitFor('error').then((e) => e.error.code)]);
  return { ws, refused };
}

describe('the studio moderation lists', () => {
  it('list moderators, VIPs, bans and timeouts to staff only; unbanning from the list lets the user rejoin', async () => {
    const host = await registerUser(srv.url, 'list_host');
    const [mod, vip, banned, timed, stranger] = [
      await registerUser(srv.url, 'list_mod'),
      await registerUser(srv.url, 'list_vip'),
      await registerUser(srv.url, 'list_banned'),
      await registerUser(srv.url, 'list_timed'),
      await registerUser(srv.url, 'list_stranger'),
    ];
    const created = await api(srv.url, 'POST', '/api/live/create', { token: host.token, body: { title: 'lists' } });
    const streamId = created.body.stream.id as number;
    const studio = (await join(streamId, host.token)).ws;
    // Appointing by username: the channel page resolves a name to its id, the room appoints.
    const modId = (await api(srv.url, 'GET', '/api/channels/LIST_MOD')).body.channel.id;
    expect((await studio.request({ type: 'add_moderator', userId: modId })).type).toBe('ack');
    expect((await studio.request({ type: 'add_vip', userId: vip.id })).type).toBe('ack');
    expect((await studio.request({ type: 'ban_user', userId: banned.id, reason: 'spam' })).type).toBe('ack');
    expect((await studio.request({ type: 'timeout_user', userId: timed.id, durationSeconds: 600, reason: 'calm down' })).type).toBe('ack');

    const lists = await api(srv.url, 'GET', `/api/moderation/${host.id}`, { token: host.token });
    expect(lists.status).toBe(200);
    const names = (k: string) => lists.body[k].map((p: { username: string }) => p.username);
    expect([names('moderators'), names('vips'), names('bans'), names('timeouts')]).toEqual([['list_mod'], ['list_vip'], ['list_banned'], ['list_timed']]);
    expect(lists.body.bans[0]).toMatchObject({ reason: 'spam' });
    expect(lists.body.timeouts[0].until).toBeGreaterThan(Date.now());
    expect((await api(srv.url, 'GET', `/api/moderation/${host.id}`, { token: mod.token })).status).toBe(200);
    expect((await api(srv.url, 'GET', `/api/moderation/${host.id}`, { token: stranger.token })).body.error.code).toBe('forbidden');
    expect((await api(srv.url, 'GET', `/api/moderation/${host.id}`)).status).toBe(401);

    expect((await join(streamId, banned.token)).refused).toBe('banned');
    expect((await studio.request({ type: 'unban_user', userId: lists.body.bans[0].userId })).type).toBe('ack');
    expect((await api(srv.url, 'GET', `/api/moderation/${host.id}`, { token: host.token })).body.bans).toEqual([]);
    const back = await join(streamId, banned.token);
    expect(back.refused).toBeNull();
    await Promise.all([back.ws.close(), studio.close()]);
  });
});
