import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamRouter, WorkerPool, silentLogger, type RtpCapabilities } from '@redred/sfu';
import { AppError } from '../errors.ts';
import { api, registerUser, startTestServer, type TestServer } from '../testing/server.ts';
import { planPublish, playCapabilities } from './negotiate.ts';
import { parseOffer } from './offer.ts';
import { fixture, http, rotateKey } from './whip-testkit.ts';

// Property: whatever SDP body arrives, WHIP and WHEP answer with a documented
// status and an error code — never a crash, never a 500 — and leave no media
// behind. Bodies are real offers (OBS-style, Chromium with and without
// simulcast, a WHEP player's) cut, shuffled and mutated line by line.
const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
/** Each server run costs a transport attempt and the endpoint's rate limit is 120 a minute per address. */
const SERVER_RUNS = 50;

const SEEDS = ['obs-whip-h264.sdp', 'obs-whip-h264-simulcast.sdp', 'chrome-whip-h264.sdp', 'chrome-whip-h264-simulcast.sdp', 'chrome-whep.sdp'].map(fixture);

const TRICKY_LINES = [
  'a=simulcast:send ~;;',
  'a=simulcast:send a;b;c;d;e;f',
  'a=simulcast:recv 1',
  'a=rid:',
  'a=rid:x send max-width=abc;max-height=-1',
  'a=rid:' + 'r'.repeat(300) + ' send',
  'a=extmap:0 urn:ietf:params:rtp-hdrext:sdes:mid',
  'a=extmap:99999 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
  'a=fmtp:96 profile-level-id=zzzzzz;packetization-mode=7',
  'a=fmtp:96 apt=96',
  'a=rtpmap:96 rtx/90000',
  'a=rtpmap:999 VP8/90000',
  'a=rtpmap:97 H264/0',
  'a=ssrc-group:FID',
  'a=ssrc-group:SIM 1 2 3',
  'a=ssrc:0 cname:x',
  'a=ssrc:99999999999 cname:x',
  'a=setup:holdconn',
  'a=fingerprint:sha-256 not-hex',
  'a=fingerprint:md5',
  'a=mid:',
  'a=recvonly',
  'a=inactive',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
  'm=video 0 UDP/TLS/RTP/SAVPF',
  'm=audio 9 RTP/AVP 0',
  'm=text 9 UDP/TLS/RTP/SAVPF 96',
  'c=IN IP6 ::1',
  'v=0',
  'a=candidate:1 1 udp 1 10.0.0.1 1 typ host',
  'a=\u0000\u00ff',
  'x'.repeat(2000),
];

const mutation = fc.oneof(
  fc.record({ op: fc.constant('drop' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('dup' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('swap' as const), at: fc.nat(), to: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), line: fc.oneof(fc.constantFrom(...TRICKY_LINES), fc.string({ maxLength: 40 }).map((s) => `a=${s}`)) }),
  fc.record({ op: fc.constant('number' as const), at: fc.nat(), value: fc.oneof(fc.integer(), fc.constantFrom(0, -1, 127, 128, 255, 256, 2 ** 32, 2 ** 53)) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
);

/** A real offer, mutated: the shapes a broken or hostile encoder could send. */
const sdpBody = fc
  .record({ seed: fc.nat({ max: SEEDS.length - 1 }), mutations: fc.array(mutation, { maxLength: 6 }), lf: fc.boolean() })
  .map(({ seed, mutations, lf }) => {
    let lines = SEEDS[seed]!.split('\r\n');
    for (const m of mutations) {
      const i = lines.length === 0 ? 0 : m.at % lines.length;
      switch (m.op) {
        case 'drop':
          lines.splice(i, 1);
          break;
        case 'dup':
          lines.splice(i, 0, lines[i] ?? '');
          break;
        case 'swap': {
          const j = lines.length === 0 ? 0 : m.to % lines.length;
          [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? ''];
          break;
        }
        case 'insert':
          lines.splice(i, 0, m.line);
          break;
        case 'number':
          lines[i] = (lines[i] ?? '').replace(/\d+/, String(m.value));
          break;
        case 'truncate':
          lines = lines.slice(0, i);
          break;
      }
    }
    return lines.join(lf ? '\n' : '\r\n');
  });

let pool: WorkerPool;
let stream: StreamRouter;
let caps: RtpCapabilities;

beforeAll(async () => {
  pool = await WorkerPool.create({ numWorkers: 1, rtcPort: 0, rtcMinPort: 43200, rtcMaxPort: 43299, enableH264: true }, { logger: silentLogger });
  stream = await StreamRouter.create(pool, 'sdp-fuzz');
  caps = stream.rtpCapabilities;
});

afterAll(() => {
  stream?.close();
  pool?.close();
});

describe('SDP offers, fuzzed', () => {
  it('parsing and negotiation either succeed or refuse with invalid_sdp / unsupported_sdp', () => {
    fc.assert(
      fc.property(sdpBody, fc.constantFrom('publish' as const, 'play' as const), (body, expect_) => {
        try {
          const offer = parseOffer(body, expect_);
          for (const section of offer.sections) {
            if (expect_ === 'publish') planPublish(section, caps);
            else playCapabilities(section, caps, offer.sections.flatMap((s) => s.headerExtensions));
          }
        } catch (err) {
          if (!(err instanceof AppError) || !['invalid_sdp', 'unsupported_sdp'].includes(err.code)) throw err;
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('WHIP and WHEP endpoints, fuzzed', () => {
  let srv: TestServer;

  afterAll(async () => {
    await srv?.close();
  });

  it('answer every body with a documented status, keep serving, and leave no transport', async () => {
    srv = await startTestServer();
    const ana = await registerUser(srv.url, 'fuzzana');
    const key = await rotateKey(srv, ana.token);
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(sdpBody, async (body) => {
        const whip = await http(srv.url, 'POST', '/api/whip', { key, body });
        seen.set(whip.status, (seen.get(whip.status) ?? 0) + 1);
        expect([201, 400, 409, 413, 415, 422, 429]).toContain(whip.status);
        if (whip.status === 201) {
          const mine = await api(srv.url, 'GET', '/api/live/mine', { token: ana.token });
          const whep = await http(srv.url, 'POST', `/api/whep/${mine.body.stream.id}`, { body });
          expect([201, 400, 409, 413, 415, 422, 429]).toContain(whep.status);
          if (whep.status === 201) expect((await http(srv.url, 'DELETE', whep.headers.get('location')!)).status).toBe(200);
          expect((await http(srv.url, 'DELETE', whip.headers.get('location')!, { key })).status).toBe(200);
        } else {
          expect(whip.error?.code).toMatch(/^[a-z_]+$/);
        }
      }),
      { numRuns: SERVER_RUNS },
    );
    console.log(`WHIP statuses over ${SERVER_RUNS} fuzzed offers: ${JSON.stringify(Object.fromEntries(seen))}`);
    expect((await api(srv.url, 'GET', '/health')).status).toBe(200);
    expect(srv.app.whip.sessions.size).toBe(0);
    for (const room of srv.app.rooms.all()) expect(room.media.counts().transports).toBe(0);
  }, 120_000);
});
