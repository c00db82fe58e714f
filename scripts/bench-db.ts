import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStream, createUser, insertComments, migrateToLatest, openDatabase } from '@redred/db';

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Acknowledged (committed, synchronous=FULL) comment inserts per second: one per transaction, and group-committed batches. */
export async function runDbBench(opts: { rounds?: number; perRound?: number; batch?: number } = {}) {
  const rounds = opts.rounds ?? 5;
  const perRound = opts.perRound ?? 300;
  const batchSize = opts.batch ?? 50;
  const dir = mkdtempSync(join(tmpdir(), 'redred-bench-'));
  const h = openDatabase({ file: join(dir, 'bench.sqlite') });
  await migrateToLatest(h.db);
  const u = await createUser(h.db, { username: 'bench', passwordHash: 'x', now: 0 });
  if (!u.ok) throw new Error('user');
  const s = await createStream(h.db, { streamerId: u.user.id, title: 'bench', description: '', now: 0 });
  if (!s.ok) throw new Error('stream');
  const row = (i: number) => ({ streamId: s.stream.id, userId: u.user.id, content: `comment ${i}`, highlighted: false, now: i });
  const single: number[] = [];
  const batched: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let t = performance.now();
    for (let i = 0; i < perRound; i++) await insertComments(h.db, [row(i)]);
    single.push(perRound / ((performance.now() - t) / 1000));
    t = performance.now();
    for (let i = 0; i < perRound; i += batchSize) await insertComments(h.db, Array.from({ length: batchSize }, (_, k) => row(i + k)));
    batched.push(perRound / ((performance.now() - t) / 1000));
  }
  await h.close();
  rmSync(dir, { recursive: true, force: true });
  return { singlePerSecond: median(single), batchedPerSecond: median(batched), batchSize, rounds, perRound };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await runDbBench());
}
