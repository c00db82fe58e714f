// Shared by the WHIP/WHEP tests: SDP fixtures and plain-HTTP WHIP/WHEP calls, as an encoder or a player makes them.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { api, type TestServer } from '../testing/server.ts';

export function fixture(name: string): string {
  return readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'fixtures', name), 'utf8');
}

export interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
  /** The JSON error body, when there is one. */
  error: { code: string; message: string } | undefined;
}

export async function http(
  base: string,
  method: string,
  path: string,
  opts: { key?: string; body?: string; contentType?: string; headers?: Record<string, string> } = {},
): Promise<HttpResult> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  if (opts.body !== undefined) headers['content-type'] = opts.contentType ?? 'application/sdp';
  const res = await fetch(base + path, { method, headers, body: opts.body });
  const text = await res.text();
  let error: HttpResult['error'];
  if (text.startsWith('{')) error = (JSON.parse(text) as { error?: HttpResult['error'] }).error;
  return { status: res.status, headers: res.headers, text, error };
}

/** A new stream key for the signed-in streamer (the studio's "rotate" button). */
export async function rotateKey(srv: TestServer, token: string): Promise<string> {
  const res = await api(srv.url, 'POST', '/api/stream-key', { token });
  if (res.status !== 201) throw new Error(`stream key: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.key as string;
}

export const whipPost = (srv: TestServer, key: string | undefined, sdp: string, contentType = 'application/sdp') =>
  http(srv.url, 'POST', '/api/whip', { ...(key ? { key } : {}), body: sdp, contentType });

/** Transports the SFU holds for a stream (0 for a stream without a room). */
export function transportsOf(srv: TestServer, streamId: number): number {
  return srv.app.rooms.get(streamId)?.media.counts().transports ?? 0;
}
