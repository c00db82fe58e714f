import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, registerUser, startTestServer, type TestServer } from '../testing/server.ts';
import { PROBE_MAX_BYTES, PROBES_PER_USER_PER_MINUTE } from './probe.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv?.close();
});

const probe = (bytes: Uint8Array, token?: string, type = 'application/octet-stream') =>
  fetch(`${srv.url}/api/probe/upload`, { method: 'POST', headers: { 'content-type': type, ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: new Blob([bytes as Uint8Array<ArrayBuffer>]) });

describe('POST /api/probe/upload (the studio uplink probe)', () => {
  it('times the upload on the server and answers the rate; signed-in streamers only, a few a minute', async () => {
    expect((await probe(new Uint8Array(1024))).status).toBe(401);
    const ana = await registerUser(srv.url, 'probeana');
    const res = await probe(new Uint8Array(256 * 1024), ana.token);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { bytes: number; ms: number; bitsPerSecond: number };
    expect(body.bytes).toBe(256 * 1024);
    expect(body.ms).toBeGreaterThanOrEqual(1);
    expect(body.bitsPerSecond).toBe(Math.round((body.bytes * 8 * 1000) / body.ms));
    expect((await probe(new Uint8Array(PROBE_MAX_BYTES + 1), ana.token)).status).toBe(413);
    for (let i = 1; i < PROBES_PER_USER_PER_MINUTE; i++) expect((await probe(new Uint8Array(16), ana.token)).status).toBe(200);
    const limited = await probe(new Uint8Array(16), ana.token);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await api(srv.url, 'GET', '/health')).status).toBe(200);
  });
});
