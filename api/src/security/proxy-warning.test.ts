import { describe, expect, it } from 'vitest';
import { isLocalAddress, unexpectedBrowserOrigin, type SeenRequest } from './proxy-warning.ts';

const none = { publicUrl: undefined, allowedOrigins: [] };
const req = (headers: SeenRequest['headers'], peer = '127.0.0.1', encrypted = false): SeenRequest => ({ headers, peer, encrypted });
const pageLoad = { 'sec-fetch-site': 'same-origin', referer: 'https://live.example.com/studio' };

describe('spotting a reverse proxy the server was not told about', () => {
  it('sees a Host-rewriting proxy from what the browser states about its own request (Sec-Fetch-Site + Referer/Origin)', () => {
    expect(unexpectedBrowserOrigin(req({ host: '127.0.0.1:8080', ...pageLoad }), none)).toEqual({
      browserOrigin: 'https://live.example.com',
      serverOrigin: 'http://127.0.0.1:8080',
      evidence: 'sec-fetch-site',
      hostRewritten: true,
    });
    expect(unexpectedBrowserOrigin(req({ host: '127.0.0.1:8080', 'sec-fetch-site': 'same-origin', origin: 'https://live.example.com' }), none)?.browserOrigin).toBe('https://live.example.com');
  });

  it('sees a TLS-terminating proxy that keeps Host (Caddy): only the scheme differs', () => {
    expect(unexpectedBrowserOrigin(req({ host: 'live.example.com', ...pageLoad }), none)).toMatchObject({ serverOrigin: 'http://live.example.com', hostRewritten: false });
  });

  it('sees a plain-http proxy that rewrites Host from X-Forwarded-Host, only from a local peer', () => {
    const headers = { host: '127.0.0.1:8080', 'x-forwarded-host': 'live.example.com', 'x-forwarded-proto': 'https' };
    expect(unexpectedBrowserOrigin(req(headers, '::ffff:10.1.2.3'), none)).toMatchObject({ browserOrigin: 'https://live.example.com', evidence: 'x-forwarded-host' });
    expect(unexpectedBrowserOrigin(req(headers, '203.0.113.9'), none)).toBeNull();
  });

  it('stays quiet for direct access, a correct PUBLIC_URL or allowed origin, and cross-site requests', () => {
    expect(unexpectedBrowserOrigin(req({ host: '127.0.0.1:8080', 'sec-fetch-site': 'same-origin', referer: 'http://127.0.0.1:8080/' }), none)).toBeNull();
    expect(unexpectedBrowserOrigin(req({ host: 'live.example.com', 'sec-fetch-site': 'same-origin', referer: 'https://live.example.com/' }, '127.0.0.1', true), none)).toBeNull();
    expect(unexpectedBrowserOrigin(req({ host: '127.0.0.1:8080', ...pageLoad }), { publicUrl: 'https://live.example.com', allowedOrigins: [] })).toBeNull();
    expect(unexpectedBrowserOrigin(req({ host: '127.0.0.1:8080', ...pageLoad }), { publicUrl: undefined, allowedOrigins: ['https://live.example.com'] })).toBeNull();
    // An attack: another site's page. The browser says cross-site; its Origin proves nothing about us.
    expect(unexpectedBrowserOrigin(req({ host: 'live.example.com', 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' }), none)).toBeNull();
    expect(unexpectedBrowserOrigin(req({ host: 'live.example.com', origin: 'https://evil.example' }), none)).toBeNull();
  });

  it('points at a PUBLIC_URL that is set but is not what browsers use', () => {
    const wrong = { publicUrl: 'http://live.example.com', allowedOrigins: [] };
    expect(unexpectedBrowserOrigin(req({ host: '127.0.0.1:8080', ...pageLoad }), wrong)).toMatchObject({ browserOrigin: 'https://live.example.com' });
  });

  it('knows local addresses', () => {
    for (const a of ['127.0.0.1', '::1', '10.0.0.1', '172.16.5.4', '172.31.0.1', '192.168.1.1', '::ffff:127.0.0.1', 'fd00::1']) expect(isLocalAddress(a), a).toBe(true);
    for (const a of ['8.8.8.8', '172.32.0.1', '2001:db8::1', undefined, 'nonsense']) expect(isLocalAddress(a), String(a)).toBe(false);
  });
});
