import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '@redred/db';
import { bounded, startServerProcess, type ServerProcess } from '../testing/process.ts';
import { api, registerUser } from '../testing/server.ts';
import { TestWsClient } from '../testing/ws-client.ts';
import { expectAck } from './chat-testkit.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'redred-chat-crash-'));
const processes: ServerProcess[] = [];

afterAll(async () => {
  for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) await p.kill();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('chat durability across SIGKILL', () => {
  it('keeps every acknowledged comment when the server is killed while 10 clients send', async () => {
    // The per-socket message rate is lifted so every sender keeps comments in flight.
    const first = await startServerProcess({ DATA_DIR: dataDir, WS_MESSAGES_PER_SECOND: '100000', WS_MESSAGE_BURST: '100000' });
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
    let reached200!: () => void;
    const enough = new Promise<void>((r) => (reached200 = r));
    // Each sender keeps three comments in flight, each reply sending the next: the kill
    // lands with requests in flight, as from real clients.
    const loops = senders.flatMap((ws, si) => {
      let i = 0;
      const lane = async () => {
        while (!stop) {
          const content = `crash ${si}-${i++}`;
          sent++;
          const reply = await Promise.race([ws.request({ type: 'comment', content }, 30_000), ws.closedPromise.then(() => null)]);
          if (reply === null) return; // the socket died with the server
          if (reply.type !== 'comment_ack') throw new Error(`comment refused: ${JSON.stringify(reply)}`);
          acked.set(reply.commentId, content);
          if (acked.size === 200) reached200();
        }
      };
      return [lane(), lane(), lane()];
    });
    // A lane that fails ends the wait too, so its error is what the test reports.
    await bounded(Promise.race([enough, Promise.all(loops)]), 30_000, '200 acknowledged comments');
    await first.kill();
    stop = true;
    await Promise.all(loops);
    const ackedAtKill = new Map(acked);
    expect(ackedAtKill.size).toBeGreaterThanOrEqual(200);
    expect(sent, 'comments were in flight when the kill landed').toBeGreaterThan(ackedAtKill.size);

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
