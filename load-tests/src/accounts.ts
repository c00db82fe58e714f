import type { SessionBody, StreamBody } from '@redred/api/protocol';

// The REST calls a run needs: accounts for the streamer and chatters, and a stream.
// Registration hashes a password (argon2) on the server: tens of ms of server CPU
// each, so chat accounts are made before the measured phase and may be shared
// between sockets (--chat-accounts).

async function post<T>(baseUrl: string, path: string, body: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(new URL(path, baseUrl), { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) {
    const hint = res.status === 429 ? ' (start the server with REGISTRATIONS_PER_IP_PER_HOUR=1000000 for load tests)' : '';
    throw new Error(`POST ${path}: HTTP ${res.status} ${text.slice(0, 200)}${hint}`);
  }
  return JSON.parse(text) as T;
}

export async function registerAccount(baseUrl: string, username: string): Promise<{ token: string; userId: number }> {
  const body = await post<SessionBody>(baseUrl, '/api/auth/register', { username, password: `load-test ${username} pw` });
  return { token: body.token, userId: body.user.id };
}

/** Registers `count` accounts named `<prefix><i>`, `concurrency` at a time. */
export async function registerAccounts(baseUrl: string, prefix: string, count: number, concurrency = 4): Promise<string[]> {
  const tokens: string[] = new Array(count);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) tokens[i] = (await registerAccount(baseUrl, `${prefix}${i}`)).token;
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return tokens;
}

export async function createStream(baseUrl: string, token: string, title: string): Promise<number> {
  const body = await post<StreamBody>(baseUrl, '/api/live/create/', { title, description: 'load test' }, token);
  return body.stream.id;
}

export function wsUrlOf(baseUrl: string, streamId: number): string {
  const u = new URL(`/ws/live/${streamId}`, baseUrl);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.toString();
}
