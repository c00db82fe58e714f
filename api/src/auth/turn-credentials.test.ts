import { describe, expect, it } from 'vitest';
import { DEFAULT_TURN_TTL_SECONDS, iceServersFor, parseTurnConfig, turnCredential } from './turn-credentials.ts';

const SECRET = 'north-wind-0123456789';

describe('TURN REST-API credentials (coturn use-auth-secret)', () => {
  it('signs the username with HMAC-SHA1 of the shared secret, base64 (vectors from openssl dgst -sha1 -hmac)', () => {
    expect(turnCredential(SECRET, '1700000000:42')).toBe('KupBZMF4j2meH46N+Oug7RkFD9Y=');
    expect(turnCredential(SECRET, '1700021600:anon')).toBe('q4DvVrY/B5nYftS619kuxWNrxso=');
  });

  it('gives each connection a username that expires TURN_CREDENTIAL_TTL_S from now: user id, or anon', () => {
    const turn = parseTurnConfig({ TURN_URLS: 'stun:turn.example.com:3478, turn:turn.example.com:3478?transport=udp,turns:turn.example.com:5349?transport=tcp', TURN_SECRET: SECRET })!;
    expect(turn.ttlSeconds).toBe(DEFAULT_TURN_TTL_SECONDS);
    const now = 1_700_000_000_500;
    const [stun, relay] = iceServersFor(turn, 42, now);
    expect(stun).toEqual({ urls: ['stun:turn.example.com:3478'] });
    expect(relay).toEqual({
      urls: ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:5349?transport=tcp'],
      username: `${1_700_000_000 + DEFAULT_TURN_TTL_SECONDS}:42`,
      credential: turnCredential(SECRET, `${1_700_000_000 + DEFAULT_TURN_TTL_SECONDS}:42`),
    });
    const anon = iceServersFor({ ...turn, ttlSeconds: 21_600 }, null, now)[1]!;
    expect(anon.username).toBe('1700021600:anon');
    expect(anon.credential).toBe('q4DvVrY/B5nYftS619kuxWNrxso=');
  });

  it('hands out no ICE servers without TURN_URLS', () => {
    expect(parseTurnConfig({})).toBeUndefined();
    expect(iceServersFor(undefined, 1, Date.now())).toEqual([]);
  });

  it('refuses to start with a half or broken TURN configuration, naming the variable', () => {
    expect(() => parseTurnConfig({ TURN_SECRET: SECRET })).toThrow(/TURN_URLS/);
    expect(() => parseTurnConfig({ TURN_URLS: 'turn:t.example.com' })).toThrow(/TURN_SECRET/);
    expect(() => parseTurnConfig({ TURN_URLS: 'turn:t.example.com', TURN_SECRET: 'short' })).toThrow(/TURN_SECRET/);
    expect(() => parseTurnConfig({ TURN_URLS: 'http://t.example.com', TURN_SECRET: SECRET })).toThrow(/TURN_URLS/);
    expect(() => parseTurnConfig({ TURN_URLS: 'turn:t.example.com?transport=sctp', TURN_SECRET: SECRET })).toThrow(/TURN_URLS/);
    expect(() => parseTurnConfig({ TURN_URLS: 'turn:t.example.com', TURN_SECRET: SECRET, TURN_CREDENTIAL_TTL_S: '10' })).toThrow(/TURN_CREDENTIAL_TTL_S/);
    // STUN alone needs no secret.
    expect(parseTurnConfig({ TURN_URLS: 'stun:stun.example.com' })).toMatchObject({ urls: ['stun:stun.example.com'] });
  });
});
