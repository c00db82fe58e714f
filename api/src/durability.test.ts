import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findUserByUsername, openDatabase } from '@redred/db';
import { bounded, startServerProcess } from './testing/process.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'redred-crash-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('durability across SIGKILL', () => {
  it('keeps every acknowledged write after the server is killed mid-load', async () => {
    const first = await startServerProcess({ DATA_DIR: dataDir });
    const acked: string[] = [];
    let eightAcked!: () => void;
    const enough = new Promise<void>((r) => (eightAcked = r));
    let stop = false;
    // Four writers in parallel; the kill lands while requests are in flight.
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        const username = `u${w}_${i}`;
        try {
          const res = await fetch(`${first.url}/api/auth/register`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ username, password: 'correct horse battery' }),
          });
          if (res.status === 201) {
            if (acked.push(username) === 8) eightAcked();
          } else if (res.status !== 429) throw new Error(`unexpected ${res.status}`);
        } catch (err) {
          if (stop) return;
          throw err;
        }
      }
    });
    // A writer that fails ends the wait too, so its error is what the test reports.
    await bounded(Promise.race([enough, Promise.all(writers)]), 30_000, '8 acknowledged registrations');
    stop = true;
    await first.kill();
    await Promise.allSettled(writers);
    expect(acked.length).toBeGreaterThanOrEqual(8);

    const second = await startServerProcess({ DATA_DIR: dataDir });
    for (const username of acked) {
      const res = await fetch(`${second.url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-test': '1' },
        body: JSON.stringify({ username, password: 'correct horse battery' }),
      });
      expect(res.status, username).toBe(200);
    }
    expect(await second.stop()).toBe(0);

    const h = openDatabase({ file: join(dataDir, 'redred.sqlite') });
    for (const username of acked) expect(await findUserByUsername(h.db, username)).toBeDefined();
    expect(h.sqlite.pragma('integrity_check', { simple: true })).toBe('ok');
    await h.close();
  });
});
