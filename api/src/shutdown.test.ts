import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listCommentIds, openDatabase, transitionStream } from '@redred/db';
import { startServerProcess } from './testing/process.ts';
import { TestWsClient } from './testing/ws-client.ts';
import { api, registerUser } from './testing/server.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'redred-shutdown-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('graceful shutdown under load', () => {
  it('closes clients with 1001, exits within 5 s and loses no acknowledged comment', async () => {
    const server = await startServerProcess({ DATA_DIR: dataDir, WS_MESSAGES_PER_SECOND: '1000', WS_MESSAGE_BURST: '1000' });
    const wsBase = server.url.replace('http', 'ws');
    const host = await registerUser(server.url, 'shutdown_host');
    const id = (await api(server.url, 'POST', '/api/live/create/', { token: host.token, body: { title: 'bye' } })).body.stream.id as number;
    const db = openDatabase({ file: join(dataDir, 'redred.sqlite') });
    await transitionStream(db.db, id, 'live', { now: Date.now() });
    const streamer = await TestWsClient.connect(`${wsBase}/ws/live/${id}`, { token: host.token });
    const viewers = await Promise.all(Array.from({ length: 5 }, () => TestWsClient.connect(`${wsBase}/ws/live/${id}`)));
    await streamer.waitFor('connection_established');

    const acked: number[] = [];
    streamer.ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.type === 'comment_ack') acked.push(m.commentId);
    });
    let i = 0;
    const pump = setInterval(() => streamer.send({ type: 'comment', requestId: `s${i}`, content: `message ${i++}` }), 5);
    while (acked.length < 30) await new Promise((r) => setTimeout(r, 10));
    const t0 = Date.now();
    const exitCode = await server.stop();
    clearInterval(pump);
    const exitMs = Date.now() - t0;
    expect(exitCode).toBe(0);
    expect(exitMs).toBeLessThan(5000);
    for (const v of [streamer, ...viewers]) expect(await v.closedPromise).toBe(1001);

    const stored = new Set(await listCommentIds(db.db, id));
    for (const c of acked) expect(stored.has(c), `acked comment ${c}`).toBe(true);
    await db.close();
  });
});
