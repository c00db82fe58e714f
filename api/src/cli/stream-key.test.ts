import { describe, expect, it } from 'vitest';
import { createUser, findStreamKeyOwner } from '@redred/db';
import { hashStreamKey } from '../whip/stream-keys.ts';
import type { CliIo } from './io.ts';
import { runCli } from './run.ts';
import { useCliDatabase } from './testing.ts';

const tmp = useCliDatabase('key');

function io(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l), confirm: async () => false, env: { DATA_DIR: tmp().dir }, now: () => 1_000 };
}

describe('redred stream-key rotate', () => {
  it("prints a new key once; only its hash is stored, and the previous key stops matching", async () => {
    const ana = await createUser(tmp().db, { username: 'Ana', passwordHash: 'x', now: 0 });
    if (!ana.ok) throw new Error('user');
    const first = io();
    expect(await runCli(['stream-key', 'rotate', '--user', 'ana'], first)).toBe(0);
    const key = first.stdout[1]!;
    expect(key).toMatch(/^live_[A-Za-z0-9_-]{43}$/);
    expect(await findStreamKeyOwner(tmp().db, hashStreamKey(key))).toEqual({ channelId: ana.user.id, username: 'Ana' });
    const second = io();
    expect(await runCli(['stream-key', 'rotate', '--user', 'Ana'], second)).toBe(0);
    expect(second.stdout[1]).not.toBe(key);
    expect(await findStreamKeyOwner(tmp().db, hashStreamKey(key))).toBeUndefined();
  });

  it('usage errors exit 2, an unknown user exits 1', async () => {
    const noUser = io();
    expect(await runCli(['stream-key', 'rotate'], noUser)).toBe(2);
    expect(noUser.stderr.join('\n')).toMatch(/--user/);
    expect(await runCli(['stream-key', 'show', '--user', 'x'], io())).toBe(2);
    const ghost = io();
    expect(await runCli(['stream-key', 'rotate', '--user', 'ghost'], ghost)).toBe(1);
    expect(ghost.stderr.join('\n')).toMatch(/no user "ghost"/);
  });
});
