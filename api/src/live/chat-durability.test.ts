import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '@redred/db';
import { startServerProcess, type ServerProcess } from '../testing/process.ts';
import { api, registerUser } from '../testing/server.ts';
import { TestWsClient } from '../testing/ws-client.ts';
import { expectAck, sleep } from './chat-testkit.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'redred-chat-crash-'));
const processes: ServerProcess[] = [];

afterAll(async () => {
  for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) await p.kill();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('chat durability across SIGKILL', () => {
  it('keeps every acknowledged comment when the server is killed while 10 clients send', async () => {
    const first = await startServerProcess({ DATA_DIR: dataDir });
    processes.push(first);
    const wsUrl = (id: number) => `${first.url.replace('http', 'ws')}/ws/live/${id}`;
    const streamer = await registerUser(first.url, 'crashstreamer');
    const created = await api(first.url, 'POST', '/api/live/create/', { token: streamer.token, body: { title: 'crash test' } });
    const streamId: number = created.body.stream.id;
    const streamerWs = await TestWsClient.connect(wsUrl(streamId), { token: streamer.token });
    const senders: TestWsClient[] = [];
    for (let i = 0; i < 10; i++) {
      const u = await registerUser(first.url, `crashsender${i}`);
      // Moderators skip the chat rate limit: more comments in flight when the kill lands.
      expectAck(await streamerWs.request({ type: 'add_moderator', userId: u.id }));
      senders.push(await TestWsClient.connect(wsUrl(streamId), { token: u.token }));
    }
    await Promise.all(senders.map((ws) => ws.waitFor('chat_history')));

    const acked = new Map<number, string>();
    let sent = 0;
    let stop = false;
    const loops = senders.map(async (ws, si) => {
      for (let i = 0; !stop; i++) {
        const content = `crash ${si}-${i}`;
        sent++;
        // Not awaited: several comments per socket are in flight, as from a real client.
        ws.request({ type: 'comment', content }, 30_000).then(
          (reply) => {
            if (reply.type === 'comment_ack') acked.set(reply.commentId, content);
          },
          () => undefined,
        );
        await sleep(60); // under the per-socket message rate (20/s)
      }
    });
    // Kill once plenty are acked (or after a while on a crowded machine).
    const deadline = Date.now() + 15_000;
    while (acked.size < 200 && Date.now() < deadline) await sleep(10);
    await first.kill();
    stop = true;
    await Promise.all(loops);
    const ackedAtKill = new Map(acked);
    expect(ackedAtKill.size).toBeGreaterThanOrEqual(50);
    // On a fast box every comment may be acked by the time the kill lands; what matters is below.
    expect(sent).toBeGreaterThanOrEqual(ackedAtKill.size);

    // The restarted server opens the same file (WAL recovery), then the rows are read back.
    const second = await startServerProcess({ DATA_DIR: dataDir });
    processes.push(second);
    expect(await second.stop()).toBe(0);
    const h = openDatabase({ file: join(dataDir, 'redred.sqlite') });
    try {
      const rows = await h.db.selectFrom('live_stream_comments').select(['id', 'content']).where('stream_id', '=', streamId).execute();
      const stored = new Map(rows.map((r) => [r.id, r.content]));
      for (const [id, content] of ackedAtKill) expect(stored.get(id), `acked comment ${id}`).toBe(content);
      const stream = await h.db.selectFrom('live_streams').select('comments_count').where('id', '=', streamId).executeTakeFirstOrThrow();
      expect(stream.comments_count).toBe(rows.length);
      expect(h.sqlite.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      await h.close();
    }
  });
});
