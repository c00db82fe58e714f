import { describe, expect, it } from 'vitest';
import { createStream, createUser, getStream, transitionStream } from '@redred/db';
import type { CliIo } from './io.ts';
import { parseInvocation, runCli } from './run.ts';
import { useCliDatabase } from './testing.ts';

// The same entry the bin runs, driven in-process: argument handling and the
// answers to odd requests. streams.test.ts runs the real CLI on a running server.

const tmp = useCliDatabase('run');

function fakeIo(answer = false): CliIo & { stdout: string[]; stderr: string[]; asked: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const asked: string[] = [];
  return {
    stdout,
    stderr,
    asked,
    out: (line) => stdout.push(line),
    err: (line) => stderr.push(line),
    confirm: async (q) => {
      asked.push(q);
      return answer;
    },
    env: { DATA_DIR: tmp().dir },
    now: () => 1_800_000_000_000,
  };
}

describe('redred argument handling', () => {
  it.each([
    [[]],
    [['streams']],
    [['nosuch', 'check']],
    [['streams', 'check', 'extra']],
    [['streams', 'check', '--yes']],
    [['streams', 'check', '--dry-run']],
    [['streams', 'cleanup', '--id', '3']],
    [['streams', 'cleanup', '--json']],
    [['streams', 'force-cleanup', '--id', 'x']],
    [['streams', 'force-cleanup', '--id', '0']],
    [['streams', 'force-cleanup', '--id']],
    [['streams', 'check', '--nope']],
    [['streams', 'check', '--data-dir', '']],
  ])('exits 2 with the usage for %j', async (argv) => {
    const io = fakeIo();
    expect(await runCli(argv, io)).toBe(2);
    expect(io.stderr.join('\n')).toContain('Usage: redred streams');
    expect(io.stdout).toEqual([]);
  });

  it('parses each command with its own options', () => {
    expect(parseInvocation(['streams', 'force-cleanup', '--id', '12', '-y', '--data-dir', '/tmp/x'])).toEqual({
      help: false,
      command: 'force-cleanup',
      dataDir: '/tmp/x',
      json: false,
      dryRun: false,
      id: 12,
      yes: true,
    });
    expect(parseInvocation(['streams', 'cleanup', '--dry-run'])).toMatchObject({ command: 'cleanup', dryRun: true });
    expect(parseInvocation(['-h'])).toEqual({ help: true });
  });

  it('prints the usage on --help and exits 0', async () => {
    const io = fakeIo();
    expect(await runCli(['streams', '--help'], io)).toBe(0);
    expect(io.stdout.join('\n')).toContain('Exit codes: 0 done, 1 error or confirmation declined, 2 usage error.');
  });

  it('exits 1 on a configuration error, before touching any database', async () => {
    const io = { ...fakeIo(), env: { DATA_DIR: tmp().dir, SWEEP_IDLE_MS: 'soon' } };
    expect(await runCli(['streams', 'check'], io)).toBe(1);
    expect(io.stderr.join('\n')).toContain('SWEEP_IDLE_MS must be an integer');
  });
});

describe('redred streams force-cleanup, odd requests', () => {
  it('exits 1 for a stream that does not exist, and 0 with a clear reply for one already ended', async () => {
    const user = await createUser(tmp().db, { username: 'ana', passwordHash: 'x', now: 0 });
    if (!user.ok) throw new Error('user');
    const created = await createStream(tmp().db, { streamerId: user.user.id, title: 't', description: '', now: 0 });
    if (!created.ok) throw new Error('stream');
    await transitionStream(tmp().db, created.stream.id, 'ended', { now: 1, reason: 'streamer_ended' });

    const missing = fakeIo(true);
    expect(await runCli(['streams', 'force-cleanup', '--id', '999', '--yes'], missing)).toBe(1);
    expect(missing.stderr).toEqual(['redred: there is no stream 999']);

    const again = fakeIo(true);
    expect(await runCli(['streams', 'force-cleanup', '--id', String(created.stream.id)], again)).toBe(0);
    expect(again.stdout).toEqual([`stream ${created.stream.id} already ended (streamer_ended); nothing to do`]);
    expect(again.asked).toEqual([]);
    expect(await getStream(tmp().db, created.stream.id)).toMatchObject({ end_reason: 'streamer_ended', ended_at: 1 });
  });

  it('says there is nothing to do when no stream is open, without asking', async () => {
    const io = fakeIo(true);
    expect(await runCli(['streams', 'force-cleanup'], io)).toBe(0);
    expect(io.stdout).toEqual(['no open streams; nothing to do']);
    expect(io.asked).toEqual([]);
  });
});
