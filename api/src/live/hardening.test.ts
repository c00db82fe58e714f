import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transitionStream } from '@redred/db';
import { TestWsClient } from '../testing/ws-client.ts';
import { api, registerUser, startTestServer, type TestServer } from '../testing/server.ts';

let srv: TestServer;
let streamId: number;
let streamerToken: string;

beforeAll(async () => {
  srv = await startTestServer({ wsMessagesPerSecond: 1000, wsMessageBurst: 1000 });
  const s = await registerUser(srv.url, 'slow_host');
  streamerToken = s.token;
  streamId = (await api(srv.url, 'POST', '/api/live/create/', { token: s.token, body: { title: 'slow' } })).body.stream.id;
  await transitionStream(srv.app.db, streamId, 'live', { now: Date.now() });
});
afterAll(() => srv.close());

describe('slow-consumer protection', () => {
  it('closes a socket that stops reading while 200 comments/s flow, within 5 s, and others stay on time', async () => {
    const streamer = await TestWsClient.connect(srv.wsUrl(streamId), { token: streamerToken });
    const reader = await TestWsClient.connect(srv.wsUrl(streamId));
    const stalled = await TestWsClient.connect(srv.wsUrl(streamId));
    await stalled.waitFor('connection_established');
    await reader.waitFor('connection_established');
    // Stop reading: the TCP socket is paused, so the server's data piles up.
    (stalled.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const stalledAt = Date.now();
    let stalledClosedAt = 0;
    const serverSide = srv.app.rooms.get(streamId)!;
    const initialConnections = serverSide.connectionCount;

    const sentAt = new Map<number, number>();
    const latencies: number[] = [];
    reader.ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.type === 'comment') latencies.push(Date.now() - sentAt.get(m.comment.id)!);
    });
    // 200 comments/s for up to 6 s, each ~2 KB (emoji are 4 bytes each).
    const body = '🎉'.repeat(480);
    for (let i = 0; i < 1200; i++) {
      const t = Date.now();
      const ack = await streamer.request({ type: 'comment', content: `${i} ${body}` });
      expect(ack.type).toBe('comment_ack');
      sentAt.set((ack as { commentId: number }).commentId, t);
      if (!stalledClosedAt && serverSide.connectionCount < initialConnections) stalledClosedAt = Date.now();
      if (stalledClosedAt && i > 200) break;
      const next = stalledAt + (i + 1) * 5;
      if (next > Date.now()) await new Promise((r) => setTimeout(r, next - Date.now()));
    }
    expect(stalledClosedAt, 'the stalled socket was never closed').toBeGreaterThan(0);
    const closeMs = stalledClosedAt - stalledAt;
    await new Promise((r) => setTimeout(r, 300));
    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.floor(latencies.length * 0.99)]!;
    console.log(`stalled socket closed after ${closeMs} ms; healthy reader got ${latencies.length} comments, p99 ${p99} ms`);
    expect(closeMs).toBeLessThan(5000);
    expect(latencies.length).toBeGreaterThan(200);
    expect(p99).toBeLessThan(500);
  });
});
