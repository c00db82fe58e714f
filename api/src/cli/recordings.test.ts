import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createStream, createUser, getRecording, openRecording, transitionStream, updateRecording } from '@redred/db';
import type { CliIo } from './io.ts';
import { runCli } from './run.ts';
import { useCliDatabase } from './testing.ts';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 20);
const tmp = useCliDatabase('rec');

function io(env: Record<string, string> = {}, answer = false): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l), confirm: async () => answer, env: { DATA_DIR: tmp().dir, ...env }, now: () => NOW };
}

/** A user with one finished (or still written) recording of `size` bytes, started `ageDays` ago. */
async function seed(name: string, ageDays: number, size: number, status: 'ready' | 'recording' = 'ready'): Promise<number> {
  const user = await createUser(tmp().db, { username: name, passwordHash: 'x', now: 0 });
  if (!user.ok) throw new Error('user');
  const at = NOW - ageDays * DAY;
  const stream = await createStream(tmp().db, { streamerId: user.user.id, title: `${name}'s class`, description: '', now: at });
  if (!stream.ok) throw new Error('stream');
  await transitionStream(tmp().db, stream.stream.id, 'live', { now: at });
  const rec = await openRecording(tmp().db, { streamId: stream.stream.id, channelId: user.user.id, container: 'webm', now: at });
  mkdirSync(join(tmp().dir, 'recordings', String(rec.id)), { recursive: true });
  writeFileSync(join(tmp().dir, 'recordings', String(rec.id), status === 'ready' ? 'recording.webm' : 'run-0001-0000.webm'), Buffer.alloc(size));
  if (status === 'ready') {
    await transitionStream(tmp().db, stream.stream.id, 'ended', { now: at + 60_000, reason: 'streamer_ended' });
    await updateRecording(tmp().db, rec.id, { status: 'ready', ended_at: at + 60_000, duration_ms: 60_000, size_bytes: size, segments: 1 });
  }
  return rec.id;
}

const gone = async (id: number) => (await getRecording(tmp().db, id)) === undefined && !existsSync(join(tmp().dir, 'recordings', String(id)));

describe('redred recordings', () => {
  it('list: a table oldest first, or JSON; --user filters', async () => {
    const a = await seed('Ana', 3, 2 * 1024 * 1024);
    const b = await seed('Bo', 1, 1024 * 1024, 'recording');
    const table = io();
    expect(await runCli(['recordings', 'list'], table)).toBe(0);
    expect(table.stdout[0]).toMatch(/^ID\s+CHANNEL\s+STATUS/);
    expect(table.stdout[1]).toMatch(new RegExp(`^${a}\\s+Ana\\s+ready\\s.*0:01:00\\s+2\\.0 MB\\s+public\\s+Ana's class$`));
    expect(table.stdout[2]).toMatch(new RegExp(`^${b}\\s+Bo\\s+recording\\s`));
    const json = io();
    expect(await runCli(['recordings', 'list', '--json', '--user', 'ana'], json)).toBe(0);
    expect(JSON.parse(json.stdout[0]!)).toEqual([expect.objectContaining({ id: a, channel: 'Ana', status: 'ready', sizeBytes: 2 * 1024 * 1024 })]);
  });

  it('delete: asks, refuses one being written, removes files and row', async () => {
    const a = await seed('Ana', 3, 100);
    const b = await seed('Bo', 1, 100, 'recording');
    const declined = io({}, false);
    expect(await runCli(['recordings', 'delete', '--id', String(a)], declined)).toBe(1);
    expect(await gone(a)).toBe(false);
    const writing = io();
    expect(await runCli(['recordings', 'delete', '--id', String(b), '--yes'], writing)).toBe(1);
    expect(writing.stderr.join('\n')).toMatch(/still being written/);
    expect(await gone(b)).toBe(false);
    expect(await runCli(['recordings', 'delete', '--id', String(a)], io({}, true))).toBe(0);
    expect(await gone(a)).toBe(true);
    expect(await runCli(['recordings', 'delete', '--id', '999', '-y'], io())).toBe(1);
  });

  it('prune: retention from RECORDING_RETENTION_DAYS; --dry-run changes nothing', async () => {
    const old = await seed('Ana', 10, 100);
    const recent = await seed('Bo', 1, 100);
    const writing = await seed('Cy', 30, 100, 'recording');
    const dry = io({ RECORDING_RETENTION_DAYS: '7' });
    expect(await runCli(['recordings', 'prune', '--dry-run'], dry)).toBe(0);
    expect(dry.stdout).toEqual([`would delete 1 recording(s): ${old}`]);
    expect(await gone(old)).toBe(false);
    const real = io({ RECORDING_RETENTION_DAYS: '7' });
    expect(await runCli(['recordings', 'prune'], real)).toBe(0);
    expect(real.stdout).toEqual([`deleted 1 recording(s): ${old}`]);
    expect(await gone(old)).toBe(true);
    expect(await gone(recent)).toBe(false);
    expect(await gone(writing)).toBe(false);
  });

  it('usage errors exit 2', async () => {
    for (const argv of [['recordings'], ['recordings', 'nuke'], ['recordings', 'delete'], ['recordings', 'delete', '--id', '../1'], ['recordings', 'list', '--dry-run'], ['recordings', 'prune', '--id', '1']]) {
      const out = io();
      expect({ argv, code: await runCli(argv, out) }).toEqual({ argv, code: 2 });
      expect(out.stderr.join('\n')).toMatch(/Usage: redred recordings/);
    }
  });
});
