import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, registerUser, startTestServer, type TestServer } from '../testing/server.ts';
import { TestWsClient } from '../testing/ws-client.ts';

describe('GET /metrics', () => {
  let server: TestServer;
  const TOKEN = 'scrape-token-0123456789';
  const auth = { headers: { authorization: `Bearer ${TOKEN}` } };
  beforeAll(async () => {
    server = await startTestServer({ metricsToken: TOKEN });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('exposes audience, media, worker, chat and event-loop figures in the Prometheus format', async () => {
    const res = await fetch(`${server.url}/metrics`, auth);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    for (const name of [
      'redred_viewers 0',
      'redred_websocket_connections 0',
      'redred_producers 0',
      'redred_worker_consumers{worker="0"',
      'redred_worker_cpu_seconds_total{worker="0"',
      'redred_worker_resident_memory_bytes{worker="0"',
      'redred_comments_total 0',
      'redred_comments_per_second 0',
      'redred_recorders_active 0',
      'redred_recordings{status="ready"} 0',
      'redred_recordings_bytes{status="partial"} 0',
      'redred_recordings_disk_free_bytes ',
      'redred_recorder_deaths_total 0',
      'nodejs_eventloop_lag_p99_seconds',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
    ]) {
      expect(text).toContain(name);
    }
  });

  it('counts a WebSocket viewer', async () => {
    const streamer = await registerUser(server.url, 'metricsstreamer');
    const created = await api(server.url, 'POST', '/api/live/create/', { token: streamer.token, body: { title: 'm' } });
    const ws = await TestWsClient.connect(server.wsUrl(created.body.stream.id));
    await ws.waitFor('connection_established');
    const text = await (await fetch(`${server.url}/metrics`, auth)).text();
    expect(text).toContain('redred_viewers 1');
    expect(text).toContain('redred_websocket_connections 1');
    expect(text).toContain('redred_rooms 1');
    await ws.close();
  });

  it('answers 401 without the token or with a wrong one', async () => {
    for (const headers of <Record<string, string>[]>[{}, { authorization: 'Bearer wrong-token-0123456789' }, { authorization: TOKEN }]) {
      const res = await fetch(`${server.url}/metrics`, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
      expect(await res.text()).not.toContain('redred_');
    }
  });
});

describe('/metrics access without a token', () => {
  it('is refused on the public port by default', async () => {
    const server = await startTestServer();
    try {
      const res = await fetch(`${server.url}/metrics`);
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/METRICS_TOKEN/);
    } finally {
      await server.close();
    }
  });

  it('with METRICS_PORT, is served on that listener only', async () => {
    const server = await startTestServer({ metricsListen: { host: '127.0.0.1', port: 0 } });
    try {
      const address = server.app.metricsAddress!();
      if (typeof address !== 'object' || !address) throw new Error('no metrics listener');
      const res = await fetch(`http://127.0.0.1:${address.port}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('redred_viewers 0');
      expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
