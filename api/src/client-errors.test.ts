import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LIMITS } from './protocol/constants.ts';
import { bounded, startServerProcess, type ServerProcess } from './testing/process.ts';
import { api, registerUser } from './testing/server.ts';
import { TestWsClient } from './testing/ws-client.ts';

// A client's bad input is a warning at most: `error` (pino level 50) is kept for
// our own faults, so an operator's alert on errors does not fire for every
// broken or hostile client.

const dataDir = mkdtempSync(join(tmpdir(), 'redred-client-errors-'));
let server: ServerProcess | undefined;
afterAll(async () => {
  if (server && server.child.exitCode === null) await server.kill();
  rmSync(dataDir, { recursive: true, force: true });
});

interface LogLine {
  level: number;
  msg?: string;
  code?: string;
  [k: string]: unknown;
}

describe('garbage from a client is logged as the client’s fault', () => {
  it('logs oversized, invalid UTF-8, binary, malformed and unknown frames below error level, with no stack', async () => {
    server = await startServerProcess({ DATA_DIR: dataDir });
    const host = await registerUser(server.url, 'garbage_host');
    const created = await api(server.url, 'POST', '/api/live/create/', { token: host.token, body: { title: 'garbage in' } });
    const url = `${server.url.replace('http', 'ws')}/ws/live/${created.body.stream.id}`;
    const connect = async () => {
      const c = await TestWsClient.connect(url);
      await c.waitFor('connection_established');
      return c;
    };

    // Framing violations: `ws` closes the socket itself, with the code for each.
    const oversized = await connect();
    oversized.sendRaw('x'.repeat(LIMITS.maxFrameBytes + 1));
    expect(await bounded(oversized.closedPromise, 10_000, 'oversized frame')).toBe(1009);
    const badUtf8 = await connect();
    badUtf8.sendRaw(Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]));
    expect(await bounded(badUtf8.closedPromise, 10_000, 'invalid UTF-8')).toBe(1007);

    // Well-framed garbage: an error reply each, and the socket stays.
    const other = await connect();
    other.sendRaw(Buffer.from([1, 2, 3]), true);
    expect((await other.waitNext('error')).error.code).toBe('validation_failed');
    other.sendRaw('{"type":');
    expect((await other.waitNext('error')).error.code).toBe('invalid_json');
    expect(await other.request({ type: 'no_such_type' as 'comment' })).toMatchObject({ type: 'error', error: { code: 'unknown_type' } });
    expect(other.closeCode).toBeNull();
    await other.close();

    expect(await bounded(server.stop(), 15_000, 'server stop')).toBe(0);
    const lines = (await server.log())
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine);
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    const warnings = lines.filter((l) => l.level === 40);
    expect(warnings.map((l) => l.code)).toEqual(expect.arrayContaining(['WS_ERR_INVALID_UTF8', 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH']));
    for (const w of warnings) expect(JSON.stringify(w)).not.toContain('"stack"');
  });
});
