import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, transitionStream } from '@redred/db';
import { bounded, startServerProcess } from './testing/process.ts';
import { TestWsClient } from './testing/ws-client.ts';
import { api, registerUser } from './testing/server.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'redred-shutdown-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('graceful shutdown under load', () => {
  it('closes clients with 1001, exits cleanly before its hard-stop timer and loses no acknowledged comment', async () => {
    const server = await startServerProcess({ DATA_DIR: dataDir, WS_MESSAGES_PER_SECOND: '1000000', WS_MESSAGE_BURST: '1000000' });
    const wsBase = server.url.replace('http', 'ws');
    const host = await registerUser(server.url, 'shutdown_host');
    const id = (await api(server.url, 'POST', '/api/live/create/', { token: host.token, body: { title: 'bye' } })).body.stream.id as number;
    const db = openDatabase({ file: join(dataDir, 'redred.sqlite') });
    await transitionStream(db.db, id, 'live', { now: Date.now() });
    const streamer = await TestWsClient.connect(`${wsBase}/ws/live/${id}`, { token: host.token });
    const viewers = await Promise.all(Array.from({ length: 5 }, () => TestWsClient.connect(`${wsBase}/ws/live/${id}`)));
    await streamer.waitFor('connection_established');

    const acked: number[] = [];
    let thirtyAcked!: () => void;
    const enough = new Promise<void>((r) => (thirtyAcked = r));
    // Eight comments in flight at all times, each reply sending the next: writes are pending when SIGTERM lands.
    let i = 0;
    let sending = true;
    const sendNext = () => {
      if (sending) streamer.send({ type: 'comment', requestId: `s${i}`, content: `message ${i++}` });
    };
    streamer.ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.type === 'comment_ack' && acked.push(m.commentId) === 30) thirtyAcked();
      if (m.type === 'comment_ack' || m.type === 'error') sendNext();
    });
    for (let k = 0; k < 8; k++) sendNext();
    await bounded(enough, 30_000, '30 acknowledged comments');
    // 0 only from a graceful close: the hard-stop timer (4.5 s) exits with 1.
    const exitCode = await bounded(server.stop(), 15_000, 'server exit after SIGTERM');
    sending = false;
    expect(exitCode).toBe(0);
    for (const v of [streamer, ...viewers]) expect(await bounded(v.closedPromise, 5_000, 'client close')).toBe(1001);

    const stored = new Set((await db.db.selectFrom('live_stream_comments').select('id').where('stream_id', '=', id).execute()).map((r) => r.id));
    for (const c of acked) expect(stored.has(c), `acked comment ${c}`).toBe(true);
    await db.close();
  });
});
