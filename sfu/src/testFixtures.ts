// Shared by the sfu tests: what a Chromium publisher sends, a streamer and viewers, event waiting, free ports.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { expect } from 'vitest';
import { SfuError, type SfuErrorCode } from './errors.ts';
import type { SfuLogger } from './logger.ts';
import type { StreamRouter } from './StreamRouter.ts';
import type { DtlsParameters, RtpParameters } from './StreamRouterTypes.ts';
import type { EventMap, TypedEmitter } from './TypedEmitter.ts';

const CNAME = 'streamer-cname';

const MID_URI = 'urn:ietf:params:rtp-hdrext:sdes:mid';
const TRANSPORT_CC_URI = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';

const VP8_CODECS: RtpParameters['codecs'] = [
  {
    mimeType: 'video/VP8',
    payloadType: 96,
    clockRate: 90000,
    rtcpFeedback: [
      { type: 'goog-remb' },
      { type: 'transport-cc' },
      { type: 'ccm', parameter: 'fir' },
      { type: 'nack' },
      { type: 'nack', parameter: 'pli' },
    ],
  },
  { mimeType: 'video/rtx', payloadType: 97, clockRate: 90000, parameters: { apt: 96 } },
];

/** Camera: VP8 with three rid-based simulcast layers, as Chromium sends it. */
export function cameraRtpParameters(): RtpParameters {
  return {
    mid: '0',
    codecs: structuredClone(VP8_CODECS),
    headerExtensions: [
      { uri: MID_URI, id: 4 },
      { uri: 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id', id: 10 },
      { uri: 'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id', id: 11 },
      { uri: TRANSPORT_CC_URI, id: 3 },
    ],
    encodings: [
      { rid: 'r0', scalabilityMode: 'L1T3', maxBitrate: 150_000 },
      { rid: 'r1', scalabilityMode: 'L1T3', maxBitrate: 500_000 },
      { rid: 'r2', scalabilityMode: 'L1T3', maxBitrate: 1_200_000 },
    ],
    rtcp: { cname: CNAME, reducedSize: true },
  };
}

export function microphoneRtpParameters(): RtpParameters {
  return {
    mid: '1',
    codecs: [
      {
        mimeType: 'audio/opus',
        payloadType: 111,
        clockRate: 48000,
        channels: 2,
        parameters: { minptime: 10, useinbandfec: 1 },
        rtcpFeedback: [{ type: 'transport-cc' }],
      },
    ],
    headerExtensions: [
      { uri: MID_URI, id: 4 },
      { uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level', id: 1 },
      { uri: TRANSPORT_CC_URI, id: 3 },
    ],
    encodings: [{ ssrc: 11110001 }],
    rtcp: { cname: CNAME, reducedSize: true },
  };
}

/** Screen share: one VP8 stream (no simulcast). */
export function screenRtpParameters(): RtpParameters {
  return {
    mid: '2',
    codecs: structuredClone(VP8_CODECS),
    headerExtensions: [
      { uri: MID_URI, id: 4 },
      { uri: TRANSPORT_CC_URI, id: 3 },
    ],
    encodings: [{ ssrc: 22220001, rtx: { ssrc: 22220002 } }],
    rtcp: { cname: CNAME, reducedSize: true },
  };
}

/** Well-formed client DTLS parameters (the handshake itself never happens in these tests). */
export function clientDtlsParameters(): DtlsParameters {
  return {
    role: 'client',
    fingerprints: [
      {
        algorithm: 'sha-256',
        value: Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, '0').toUpperCase()).join(':'),
      },
    ],
  };
}

/** Resolves with the arguments of the next `event`; rejects after `timeoutMs`. */
export function nextEvent<E extends EventMap<E>, K extends keyof E>(
  emitter: TypedEmitter<E>,
  event: K,
  timeoutMs = 5_000,
): Promise<E[K]> {
  return new Promise((resolve, reject) => {
    const listener = (...args: E[K]) => {
      clearTimeout(timer);
      resolve(args);
    };
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for "${String(event)}"`));
    }, timeoutMs);
    emitter.once(event, listener);
  });
}

export interface CapturedLog {
  level: 'debug' | 'info' | 'warn' | 'error';
  fields: Record<string, unknown>;
  message: string | undefined;
}

/** A logger that keeps lines in memory instead of printing them. */
export function captureLogger(): SfuLogger & { lines: CapturedLog[] } {
  const lines: CapturedLog[] = [];
  const make = (bindings: Record<string, unknown>): SfuLogger => {
    const write = (level: CapturedLog['level']) => (fields: object, message?: string) => {
      lines.push({ level, fields: { ...bindings, ...fields }, message });
    };
    return {
      debug: write('debug'),
      info: write('info'),
      warn: write('warn'),
      error: write('error'),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  return Object.assign(make({}), { lines });
}

/** The streamer's send transport with camera + microphone producers. */
export async function publish(stream: StreamRouter, peerId = 'streamer') {
  const transport = await stream.createTransport(peerId, 'send');
  const camera = await stream.produce(peerId, transport.id, {
    kind: 'video',
    rtpParameters: cameraRtpParameters(),
    source: 'camera',
  });
  const microphone = await stream.produce(peerId, transport.id, {
    kind: 'audio',
    rtpParameters: microphoneRtpParameters(),
    source: 'microphone',
  });
  return { transportId: transport.id, camera, microphone };
}

/** A viewer's recv transport and consumers of the given producers, one after the other as a browser does. */
export async function view(stream: StreamRouter, peerId: string, producerIds: string[]) {
  const transport = await stream.createTransport(peerId, 'recv');
  const consumers = [];
  for (const producerId of producerIds) {
    consumers.push(await stream.consume(peerId, transport.id, producerId, stream.rtpCapabilities));
  }
  return { transportId: transport.id, consumers };
}

export async function expectSfuError(promise: Promise<unknown> | (() => unknown), code: SfuErrorCode): Promise<void> {
  const run = typeof promise === 'function' ? async () => promise() : () => promise;
  await expect(run()).rejects.toSatisfy((error: unknown) => error instanceof SfuError && error.code === code);
}

async function canBind(port: number): Promise<boolean> {
  const udp = await new Promise<boolean>((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
  if (!udp) return false;
  return new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A base port from which `count` consecutive ports are free for UDP and TCP on
 * 127.0.0.1 right now, outside every range the sfu tests give their pools.
 * (Another process may still take one before the test binds it: rare, and the
 * test then fails loudly with worker_unavailable.)
 */
export async function freeConsecutivePorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 9_000);
    let free = true;
    for (let port = base; free && port < base + count; port++) free = await canBind(port);
    if (free) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}
