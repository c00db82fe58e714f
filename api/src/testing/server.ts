import { mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { buildApp } from '../app.ts';
import { defaultConfig, type AppConfig } from '../config.ts';
import type { TestWsClient } from './ws-client.ts';

export interface TestServer {
  app: FastifyInstance;
  url: string;
  wsUrl: (streamId: number) => string;
  dataDir: string;
  config: AppConfig;
  close(opts?: { keepData?: boolean }): Promise<void>;
}

/**
 * A real server on 127.0.0.1 with a real SQLite file in a temp dir and real mediasoup workers.
 * Its workers serve media on free ports (`rtcPort: 0`), so servers run side by side.
 */
export async function startTestServer(
  overrides: Partial<AppConfig> = {},
  opts: { now?: () => number; dataDir?: string } = {},
): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'redred-api-'));
  const config = defaultConfig({ port: 0, dataDir, logLevel: 'silent', mediasoupWorkers: 1, rtcPort: 0, clientDir: undefined, registrationsPerIpPerHour: 1_000_000, ...overrides });
  const app = await buildApp(config, { logger: false, ...(opts.now ? { now: opts.now } : {}) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  const url = `http://127.0.0.1:${address.port}`;
  return {
    app,
    url,
    wsUrl: (streamId) => `ws://127.0.0.1:${address.port}/ws/live/${streamId}`,
    dataDir,
    config,
    async close({ keepData = false } = {}) {
      await app.close();
      if (!keepData && !opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** JSON over fetch with the status, for REST tests. */
export async function api<T = any>(
  base: string,
  method: string,
  path: string,
  opts: { body?: unknown; token?: string; headers?: Record<string, string>; rawBody?: string } = {},
): Promise<{ status: number; body: T; headers: Headers }> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.body !== undefined || opts.rawBody !== undefined) headers['content-type'] = 'application/json';
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const res = await fetch(base + path, { method, headers, body: opts.rawBody ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)) });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}

export async function registerUser(base: string, username: string, password = 'correct horse battery'): Promise<{ token: string; id: number; username: string }> {
  const res = await api(base, 'POST', '/api/auth/register', { body: { username, password } });
  if (res.status !== 201) throw new Error(`register ${username}: ${res.status} ${JSON.stringify(res.body)}`);
  return { token: res.body.token, id: res.body.user.id, username: res.body.user.username };
}

/** The server's end of a test client's socket (matched by TCP port). */
function serverSocketOf(srv: TestServer, client: TestWsClient): WebSocket | undefined {
  const port = (client.ws as unknown as { _socket: Socket })._socket.localPort;
  for (const ws of srv.app.websocketServer.clients) {
    if ((ws as unknown as { _socket: Socket })._socket.remotePort === port) return ws;
  }
  return undefined;
}

/**
 * Resolves once the server's end of this client's socket has closed, whoever closed
 * it. Its `close` listeners run in order, so the room's, attached at connect, ran first.
 */
export function serverSideClosed(srv: TestServer, client: TestWsClient): Promise<void> {
  const serverSide = serverSocketOf(srv, client);
  if (!serverSide) return Promise.reject(new Error('no server socket for this client'));
  return new Promise<void>((resolve) => {
    if (serverSide.readyState === serverSide.CLOSED) resolve();
    else serverSide.once('close', () => resolve());
  });
}

/** Closes a client and resolves once the server has handled the close. */
export async function closeSeenByServer(srv: TestServer, client: TestWsClient): Promise<void> {
  const handled = serverSideClosed(srv, client);
  await client.close();
  await handled;
}
