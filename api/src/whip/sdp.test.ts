import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as sdpTransform from 'sdp-transform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamRouter, WorkerPool, silentLogger, type RtpCapabilities } from '@redred/sfu';
import { AppError } from '../errors.ts';
import { writeAnswer } from './answer.ts';
import { orderLayersByBitrate, orderLayersBySdp } from './layers.ts';
import { planPublish, playCapabilities } from './negotiate.ts';
import { parseOffer, type OfferSection } from './offer.ts';

// Offers captured from Chromium (RTCPeerConnection with H.264 chosen by
// setCodecPreferences, with and without 3 rids) and written as OBS's
// libdatachannel writes them; the router capabilities are a real router's.

const fixture = (name: string) => readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'fixtures', name), 'utf8');

let pool: WorkerPool;
let stream: StreamRouter;
let caps: RtpCapabilities;

beforeAll(async () => {
  pool = await WorkerPool.create({ numWorkers: 1, rtcPort: 0, rtcMinPort: 43100, rtcMaxPort: 43199, enableH264: true }, { logger: silentLogger });
  stream = await StreamRouter.create(pool, 'sdp-test');
  caps = stream.rtpCapabilities;
});

afterAll(() => {
  stream?.close();
  pool?.close();
});

function expectCode(fn: () => unknown, code: string, message?: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe(code);
    if (message) expect((err as AppError).message).toMatch(message);
    return;
  }
  throw new Error(`expected ${code}`);
}

const video = (sections: OfferSection[]) => sections.find((s) => s.kind === 'video')!;

describe('WHIP offers from Chromium and OBS', () => {
  it('takes a Chromium H.264-only offer: constrained baseline, packetization-mode 1, with its RTX and SSRCs', () => {
    const offer = parseOffer(fixture('chrome-whip-h264.sdp'), 'publish');
    expect(offer.sections.map((s) => s.kind)).toEqual(['audio', 'video']);
    expect(offer.dtls.role).toBe('auto');
    const plan = planPublish(video(offer.sections), caps);
    const [h264, rtx] = plan.rtpParameters.codecs;
    expect(h264).toMatchObject({ mimeType: 'video/H264', parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f' } });
    expect(rtx).toMatchObject({ mimeType: 'video/rtx', parameters: { apt: h264!.payloadType } });
    expect(plan.rtpParameters.encodings).toHaveLength(1);
    expect(plan.rtpParameters.encodings![0]).toMatchObject({ ssrc: expect.any(Number), rtx: { ssrc: expect.any(Number) } });
    expect(plan.rtpParameters.headerExtensions!.map((e) => e.uri)).toContain('http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01');
    expect(h264!.rtcpFeedback).toEqual(expect.arrayContaining([{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'transport-cc' }]));
    const audio = planPublish(offer.sections[0]!, caps);
    expect(audio.rtpParameters.codecs[0]).toMatchObject({ mimeType: 'audio/opus', channels: 2 });
  });

  it('maps 3 Chromium rids to encodings, in a=simulcast order when their names say nothing', () => {
    const offer = parseOffer(fixture('chrome-whip-h264-simulcast.sdp'), 'publish');
    const section = video(offer.sections);
    expect(section.rids.map((r) => r.id)).toEqual(['a', 'b', 'c']);
    const plan = planPublish(section, caps);
    expect(plan.rtpParameters.encodings).toEqual([{ rid: 'a' }, { rid: 'b' }, { rid: 'c' }]);
    expect(plan.answer.rids).toEqual(['a', 'b', 'c']);
  });

  it("takes OBS's offer, and its simulcast layers lowest first although OBS lists 0 (full size) first", () => {
    const single = parseOffer(fixture('obs-whip-h264.sdp'), 'publish');
    expect(planPublish(video(single.sections), caps).rtpParameters.encodings).toEqual([{ ssrc: 3471839202 }]);
    const simulcast = parseOffer(fixture('obs-whip-h264-simulcast.sdp'), 'publish');
    const plan = planPublish(video(simulcast.sections), caps);
    expect(plan.rtpParameters.encodings).toEqual([{ rid: '2' }, { rid: '1' }, { rid: '0' }]);
    expect(plan.rtpParameters.codecs).toHaveLength(1);
    expect(plan.answer.rids).toEqual(['0', '1', '2']);
  });

  it('writes an answer a WHIP client can apply: ice-lite, one BUNDLE, passive DTLS, recvonly, simulcast recv', async () => {
    const offer = parseOffer(fixture('obs-whip-h264-simulcast.sdp'), 'publish');
    const transport = await stream.createTransport('answer-test', 'send');
    try {
      const sdp = writeAnswer({
        transport,
        setup: 'passive',
        extmapAllowMixed: offer.extmapAllowMixed,
        sections: offer.sections.map((s) => ({ mid: s.mid, kind: s.kind, direction: 'recvonly', media: planPublish(s, caps).answer })),
      });
      const answer = sdpTransform.parse(sdp);
      expect(answer.icelite).toBe('ice-lite');
      expect(answer.groups).toEqual([{ type: 'BUNDLE', mids: '0 1' }]);
      for (const m of answer.media) {
        expect(m).toMatchObject({ setup: 'passive', direction: 'recvonly', iceUfrag: transport.iceParameters.usernameFragment });
        expect(m.candidates?.length).toBe(transport.iceCandidates.length);
        expect(sdp).toContain('a=rtcp-mux-only');
      }
      expect(answer.media[1]!.simulcast).toEqual({ dir1: 'recv', list1: '0;1;2' });
      expect(answer.media[1]!.rtp).toEqual([{ payload: 96, codec: 'H264', rate: 90000 }]);
    } finally {
      stream.closePeer('answer-test');
    }
  });
});

describe('WHEP offers', () => {
  it("keeps the player's payload types where they are the router's, and drops RTX numbered otherwise", () => {
    const offer = parseOffer(fixture('chrome-whep.sdp'), 'play');
    const v = playCapabilities(video(offer.sections), caps, offer.sections.flatMap((s) => s.headerExtensions));
    const vp8 = v.codecs!.find((c) => c.mimeType === 'video/VP8')!;
    expect(vp8.preferredPayloadType).toBe(96);
    const h264 = v.codecs!.filter((c) => c.mimeType === 'video/H264');
    expect(h264.map((c) => c.preferredPayloadType)).toContain(108);
    const routerRtx = caps.codecs!.find((c) => c.mimeType === 'video/rtx' && c.parameters?.apt === 96)!.preferredPayloadType;
    expect(v.codecs!.some((c) => c.mimeType === 'video/rtx')).toBe(routerRtx === 97);
    expect(v.headerExtensions!.some((e) => e.uri === 'urn:ietf:params:rtp-hdrext:sdes:mid')).toBe(false);
    // No id the player offered for something else is reused (Chromium refuses such an answer).
    const offered = new Map(offer.sections.flatMap((s) => s.headerExtensions).map((e) => [e.id, e.uri]));
    for (const e of v.headerExtensions!) expect([undefined, e.uri]).toContain(offered.get(e.preferredId));
  });

  it('refuses a publishing offer on the play endpoint and the other way round', () => {
    expectCode(() => parseOffer(fixture('chrome-whep.sdp'), 'publish'), 'unsupported_sdp', /recvonly/);
    expectCode(() => parseOffer(fixture('obs-whip-h264.sdp'), 'play'), 'unsupported_sdp', /sendonly/);
  });
});

describe('offers we refuse, with the status the RFC asks for', () => {
  const obs = fixture('obs-whip-h264.sdp');

  it('400 invalid_sdp: not SDP, no fingerprint, no ICE credentials, a shared mid', () => {
    expectCode(() => parseOffer('hello', 'publish'), 'invalid_sdp', /v=0/);
    expectCode(() => parseOffer('{"sdp":"v=0"}', 'publish'), 'invalid_sdp');
    expectCode(() => parseOffer(obs.replace(/a=fingerprint[^\r\n]*\r\n/, ''), 'publish'), 'invalid_sdp', /fingerprint/);
    expectCode(() => parseOffer(obs.replace(/a=ice-pwd[^\r\n]*\r\n/, ''), 'publish'), 'invalid_sdp', /ice-ufrag/);
    expectCode(() => parseOffer(obs.replace('a=mid:1', 'a=mid:0'), 'publish'), 'invalid_sdp', /mid/);
    expectCode(() => parseOffer(obs.replaceAll('3471839202', '3471839201'), 'publish'), 'invalid_sdp', /SSRC/);
  });

  it('422 unsupported_sdp: no media, data channels, two video tracks, plain RTP', () => {
    expectCode(() => parseOffer(obs.slice(0, obs.indexOf('m=audio')), 'publish'), 'unsupported_sdp', /no media/);
    expectCode(() => parseOffer(obs.replace('m=audio 9 UDP/TLS/RTP/SAVPF 111', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel'), 'publish'), 'unsupported_sdp', /data channels/);
    expectCode(() => parseOffer(obs.replace('m=audio 9 UDP/TLS/RTP/SAVPF 111', 'm=video 9 UDP/TLS/RTP/SAVPF 111'), 'publish'), 'unsupported_sdp', /more than one video/);
    expectCode(() => parseOffer(obs.replace(/UDP\/TLS\/RTP\/SAVPF/g, 'RTP/AVP'), 'publish'), 'unsupported_sdp', /SAVPF/);
  });

  it('422 unsupported_sdp naming the codecs when only AV1 or HEVC is offered (OBS then fails clearly)', () => {
    for (const codec of ['AV1', 'H265']) {
      const offer = parseOffer(obs.replace('a=rtpmap:96 H264/90000', `a=rtpmap:96 ${codec}/90000`).replace(/a=fmtp:96[^\r\n]*\r\n/, ''), 'publish');
      expectCode(() => planPublish(video(offer.sections), caps), 'unsupported_sdp', new RegExp(`offered: ${codec}.*takes: .*H264`));
    }
  });

  it('422 for simulcast without the rid extension, and for streams that cannot be told apart', () => {
    const simulcast = fixture('obs-whip-h264-simulcast.sdp').replace(/a=extmap:2[^\r\n]*\r\n/, '');
    expectCode(() => planPublish(video(parseOffer(simulcast, 'publish').sections), caps), 'unsupported_sdp', /rtp-stream-id/);
    const anonymous = obs.replace(/a=ssrc:3471839202[^\r\n]*\r\n/g, '');
    expectCode(() => planPublish(video(parseOffer(anonymous, 'publish').sections), caps), 'unsupported_sdp', /a=ssrc/);
  });
});

describe('simulcast layer order', () => {
  const rid = (id: string, restrictions: Record<string, string> = {}) => ({ id, restrictions });

  it('follows a=rid size restrictions when every layer has them', () => {
    expect(orderLayersBySdp([rid('x', { 'max-width': '1280', 'max-height': '720' }), rid('y', { 'max-width': '320', 'max-height': '180' }), rid('z', { 'max-width': '640', 'max-height': '360' })])).toEqual(['y', 'z', 'x']);
  });

  it('knows the usual names and OBS numbering, and keeps the offer order otherwise', () => {
    expect(orderLayersBySdp([rid('f'), rid('h'), rid('q')])).toEqual(['q', 'h', 'f']);
    expect(orderLayersBySdp([rid('high'), rid('low'), rid('mid')])).toEqual(['low', 'mid', 'high']);
    expect(orderLayersBySdp([rid('0'), rid('1'), rid('2'), rid('3')])).toEqual(['3', '2', '1', '0']);
    expect(orderLayersBySdp([rid('a'), rid('b'), rid('c')])).toEqual(['a', 'b', 'c']);
  });

  it('reorders by measured bitrate only when every layer is clearly apart', () => {
    const rates = (entries: [string, number][]) => new Map(entries);
    expect(orderLayersByBitrate(['a', 'b', 'c'], rates([['a', 2_000_000], ['b', 150_000], ['c', 600_000]]))).toEqual(['b', 'c', 'a']);
    expect(orderLayersByBitrate(['a', 'b', 'c'], rates([['a', 2_000_000], ['b', 0], ['c', 600_000]]))).toBeUndefined();
    expect(orderLayersByBitrate(['a', 'b'], rates([['a', 1_000_000], ['b', 1_050_000]]))).toBeUndefined();
    expect(orderLayersByBitrate(['a', 'b'], rates([['a', 100_000]]))).toBeUndefined();
  });
});
