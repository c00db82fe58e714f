import os from 'node:os';
import type { types as ms } from 'mediasoup';
import { SfuError } from './errors.ts';

/** Everything the SFU needs to know about its machine; no HTTP, no database. */
export interface SfuConfig {
  /** mediasoup worker processes (one C++ process each, single-threaded). */
  numWorkers: number;
  /** Address mediasoup binds for media. */
  listenIp: string;
  /**
   * Address put in ICE candidates when listenIp is not what peers reach (NAT,
   * 0.0.0.0): an IP or a hostname (browsers resolve hostname candidates).
   */
  announcedAddress?: string | undefined;
  /**
   * Every viewer's and streamer's WebRtcTransport is served by its worker's
   * WebRtcServer: worker `i` listens on UDP and TCP port `rtcPort + i`, so a
   * firewall opens `numWorkers` ports. 0: each worker takes any free port of its
   * range instead (tests running side by side; UDP and TCP may then differ).
   */
  rtcPort: number;
  /**
   * Ports for pipe transports (fan-out between workers, on loopback; recording
   * and cluster mode later), split evenly between workers so they never collide.
   */
  rtcMinPort: number;
  rtcMaxPort: number;
  logLevel: ms.WorkerLogLevel;
  logTags: ms.WorkerLogTag[];
  /**
   * Consumers (a viewer of video + audio is two) one router carries before new
   * viewers' transports go to a router on another worker fed by pipeToRouter.
   * A stream has at most one router per worker (mediasoup keeps a piped
   * producer's id, unique per worker); once every worker has one, the
   * least-loaded router takes new viewers past this number.
   *
   * 250, from CALIBRATION.md (mediasoup 3.8.4 on this class of 2-core box): the
   * publisher's bitrate collapsed once ~300 consumers sat on the producer's own
   * worker, while that worker was still below 90 % CPU. At 200–300 consumers a
   * worker used 46–59 % of a core on PlainTransports; WebRtcTransports cost
   * +10–30 %, so 250 lands around 60–75 % — under both the collapse point and
   * the 85 % planning ceiling, leaving headroom for the producer's ingress.
   */
  maxConsumersPerRouter: number;
  /**
   * Starting send estimate for viewers' transports (mediasoup's default is
   * 600 kbps). The top simulcast layer measured ~780 kbps + ~40 kbps Opus, so
   * 1 Mbps lets a viewer start on the top layer instead of climbing to it.
   */
  initialAvailableOutgoingBitrate: number;
  /**
   * Cap on what one streamer's send transport may push (bps; 0 = no cap):
   * camera simulcast (~1.3–2.5 Mbps) + screen share + audio fit well under it,
   * and a broken or hostile client cannot flood the origin worker.
   */
  maxIncomingBitrate: number;
  /** Offer H264 (baseline, packetization-mode 1) as well as VP8. */
  enableH264: boolean;
  mediaCodecs: ms.RouterRtpCodecCapability[];
}

/** Below this many ports a worker cannot hold even a handful of transports. */
const MIN_PORTS_PER_WORKER = 10;

// Payload types as libwebrtc (Chrome, Edge, most WHEP players) numbers them in
// its offers. mediasoup sends a consumer's RTP with the router's numbers, and a
// WHEP player is the offerer: its answer must carry the player's numbers, which
// it only decodes if they are ours too (RTX numbers are left to mediasoup).
const OPUS: ms.RouterRtpCodecCapability = {
  kind: 'audio',
  mimeType: 'audio/opus',
  preferredPayloadType: 111,
  clockRate: 48000,
  channels: 2,
};

const VP8: ms.RouterRtpCodecCapability = {
  kind: 'video',
  mimeType: 'video/VP8',
  preferredPayloadType: 96,
  clockRate: 90000,
  // Chrome otherwise starts VP8 at 300 kbps and takes seconds to reach the top layer.
  parameters: { 'x-google-start-bitrate': 1000 },
};

const H264: ms.RouterRtpCodecCapability = {
  kind: 'video',
  mimeType: 'video/H264',
  preferredPayloadType: 108,
  clockRate: 90000,
  parameters: {
    'packetization-mode': 1,
    'profile-level-id': '42e01f',
    'level-asymmetry-allowed': 1,
    'x-google-start-bitrate': 1000,
  },
};

export function defaultMediaCodecs(enableH264: boolean): ms.RouterRtpCodecCapability[] {
  return enableH264 ? [OPUS, VP8, H264] : [OPUS, VP8];
}

/** Fills defaults and checks the values that would only fail later, inside a worker. */
export function resolveSfuConfig(overrides: Partial<SfuConfig> = {}): SfuConfig {
  const enableH264 = overrides.enableH264 ?? false;
  const config: SfuConfig = {
    // availableParallelism() rather than cpus().length: the latter can be [] on some platforms.
    numWorkers: Math.max(1, os.availableParallelism()),
    listenIp: '127.0.0.1',
    announcedAddress: undefined,
    rtcPort: 40000,
    rtcMinPort: 40100,
    rtcMaxPort: 40999,
    logLevel: 'warn',
    logTags: [],
    maxConsumersPerRouter: 250,
    initialAvailableOutgoingBitrate: 1_000_000,
    maxIncomingBitrate: 8_000_000,
    enableH264,
    mediaCodecs: defaultMediaCodecs(enableH264),
    ...withoutUndefined(overrides),
  };

  if (!Number.isInteger(config.numWorkers) || config.numWorkers < 1) {
    throw new SfuError('invalid_parameters', `numWorkers must be a positive integer, got ${config.numWorkers}`);
  }
  if (
    !Number.isInteger(config.rtcMinPort) ||
    !Number.isInteger(config.rtcMaxPort) ||
    config.rtcMinPort < 1024 ||
    config.rtcMaxPort > 65535
  ) {
    throw new SfuError('invalid_parameters', 'rtcMinPort/rtcMaxPort must be integers within 1024–65535');
  }
  const ports = config.rtcMaxPort - config.rtcMinPort + 1;
  if (ports < config.numWorkers * MIN_PORTS_PER_WORKER) {
    throw new SfuError(
      'invalid_parameters',
      `port range ${config.rtcMinPort}-${config.rtcMaxPort} is too small for ${config.numWorkers} workers`,
    );
  }
  const lastRtcPort = config.rtcPort + config.numWorkers - 1;
  if (!Number.isInteger(config.rtcPort) || (config.rtcPort !== 0 && (config.rtcPort < 1024 || lastRtcPort > 65535))) {
    throw new SfuError('invalid_parameters', `rtcPort must be 0 or a port from which ${config.numWorkers} ports fit within 1024–65535`);
  }
  if (config.rtcPort !== 0 && config.rtcPort <= config.rtcMaxPort && lastRtcPort >= config.rtcMinPort) {
    throw new SfuError(
      'invalid_parameters',
      `WebRtcServer ports ${config.rtcPort}-${lastRtcPort} overlap the pipe port range ${config.rtcMinPort}-${config.rtcMaxPort}`,
    );
  }
  if (!Number.isInteger(config.maxConsumersPerRouter) || config.maxConsumersPerRouter < 1) {
    throw new SfuError('invalid_parameters', 'maxConsumersPerRouter must be a positive integer');
  }
  return config;
}

/** The WebRtcServer port of worker `slot` (0: any free port of its range); a replacement listens on it again. */
export function workerListenPort(config: SfuConfig, slot: number): number {
  return config.rtcPort === 0 ? 0 : config.rtcPort + slot;
}

/**
 * The port range worker `slot` owns for its pipe and plain transports (and its
 * WebRtcServer when rtcPort is 0); a replacement worker reuses its slot's range.
 */
export function workerPortRange(config: SfuConfig, slot: number): ms.TransportPortRange {
  const perWorker = Math.floor((config.rtcMaxPort - config.rtcMinPort + 1) / config.numWorkers);
  const min = config.rtcMinPort + slot * perWorker;
  return { min, max: min + perWorker - 1 };
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
