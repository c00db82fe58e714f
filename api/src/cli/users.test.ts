import { describe, expect, it } from 'vitest';
import { createUser, findUserByUsername, listAdminLog } from '@redred/db';
import type { CliIo } from './io.ts';
import { runCli } from './run.ts';
import { useCliDatabase } from './testing.ts';

const tmp = useCliDatabase('users');

function io(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l), confirm: async () => false, env: { DATA_DIR: tmp().dir }, now: () => 1_000 };
}

describe('redred users', () => {
  it('promotes and demotes a site admin, approves a streamer, and logs each change', async () => {
    await createUser(tmp().db, { username: 'Ana', passwordHash: 'x', now: 0 });
    const out = io();
    expect(await runCli(['users', 'promote', 'ana'], out)).toBe(0);
    expect(out.stdout).toEqual(['Ana is now a site admin']);
    expect((await findUserByUsername(tmp().db, 'Ana'))!.is_admin).toBe(1);
    expect(await runCli(['users', 'approve', 'Ana'], io())).toBe(0);
    expect(await runCli(['users', 'demote', 'Ana'], io())).toBe(0);
    const ana = (await findUserByUsername(tmp().db, 'Ana'))!;
    expect([ana.is_admin, ana.may_stream]).toEqual([0, 1]);
    expect((await listAdminLog(tmp().db, 10)).map((e) => [e.action, e.actor_id, e.target_username])).toEqual([
      ['admin_revoked', null, 'Ana'],
      ['streamer_approved', null, 'Ana'],
      ['admin_granted', null, 'Ana'],
    ]);
  });

  it('fails clearly on an unknown user or command', async () => {
    const unknown = io();
    expect(await runCli(['users', 'promote', 'nobody'], unknown)).toBe(1);
    expect(unknown.stderr[0]).toBe('redred: no user "nobody"');
    const bad = io();
    expect(await runCli(['users', 'crown', 'Ana'], bad)).toBe(2);
    expect(bad.stderr[0]).toMatch(/unknown users command "crown"/);
    expect(await runCli(['users', 'promote'], io())).toBe(2);
  });
});
