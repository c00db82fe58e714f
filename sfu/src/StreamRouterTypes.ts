import type { types as ms } from 'mediasoup';
import type { SfuConfig } from './config.ts';
import type { SfuLogger } from './logger.ts';
import type { Timer } from './timer.ts';

export type MediaKind = ms.MediaKind;
export type RtpCapabilities = ms.RtpCapabilities;
export type RtpParameters = ms.RtpParameters;
export type DtlsParameters = ms.DtlsParameters;
export type IceParameters = ms.IceParameters;
export type IceCandidate = ms.IceCandidate;
export type ConsumerType = ms.ConsumerType;
export type ConsumerLayers = ms.ConsumerLayers;

/**
 * What a peer sends, as the wire carries it: mediasoup's shapes with the string
 * unions it types since 3.13 (fingerprint algorithm, header extension URI) left
 * open and a codec capability's preferredPayloadType optional. mediasoup checks
 * every value itself; what it refuses becomes invalid_parameters or cannot_consume.
 */
export type PeerDtlsParameters = Omit<DtlsParameters, 'fingerprints'> & { fingerprints: { algorithm: string; value: string }[] };
export type PeerRtpParameters = Omit<RtpParameters, 'headerExtensions'> & {
  headerExtensions?: (Omit<ms.RtpHeaderExtensionParameters, 'uri'> & { uri: string })[];
};
export interface PeerRtpCapabilities {
  codecs?: (Omit<ms.RtpCodecCapability, 'preferredPayloadType'> & { preferredPayloadType?: number })[];
  headerExtensions?: (Omit<ms.RtpHeaderExtension, 'uri'> & { uri: string })[];
}

export type TransportDirection = 'send' | 'recv';

/** What a producer carries; decides its kind (microphone ↔ audio, the rest ↔ video). */
export type ProducerSource = 'camera' | 'microphone' | 'screen';

/** A viewer's choice of simulcast layer; 'auto' lets bandwidth estimation decide. */
export type LayerPreference = 'auto' | 'low' | 'medium' | 'high';

/** What a client needs to create its side of a WebRtcTransport. */
export interface TransportOffer {
  id: string;
  iceParameters: IceParameters;
  iceCandidates: IceCandidate[];
  dtlsParameters: DtlsParameters;
}

export interface ProduceRequest {
  kind: MediaKind;
  rtpParameters: PeerRtpParameters;
  source: ProducerSource;
}

/** What a client needs to create its side of a consumer (created paused). */
export interface ConsumerOffer {
  id: string;
  producerId: string;
  kind: MediaKind;
  rtpParameters: RtpParameters;
  type: ConsumerType;
  source: ProducerSource;
  producerPaused: boolean;
}

export interface ProducerInfo {
  id: string;
  kind: MediaKind;
  source: ProducerSource;
  peerId: string;
  /** RTP encodings the producer sends: 3 for a simulcast camera. */
  encodings: number;
}

/**
 * A worker used by the stream died. 'all': the origin router was rebuilt on a
 * live worker, every producer and consumer is gone, the streamer must publish
 * again and viewers consume again. 'viewers': a fan-out router was lost; the
 * producers are intact and the listed viewers must create a new recv
 * transport and consume again.
 */
export interface MediaReset {
  reason: 'worker_died';
  scope: 'all' | 'viewers';
  /** Peers that had transports on the lost router(s). */
  peerIds: string[];
}

export interface ConsumerClosed {
  peerId: string;
  consumerId: string;
  reason: 'producerclose';
}

export type StreamRouterEvents = {
  produceradded: [ProducerInfo];
  producerremoved: [ProducerInfo];
  /** A viewer's consumer closed because its producer did; tell that viewer. */
  consumerclosed: [ConsumerClosed];
  mediareset: [MediaReset];
  /** Cluster edge: the pipe from the remote origin opened (first viewer) or closed (after the last). */
  remotepipe: ['open' | 'close'];
  close: [];
};

export interface StreamRouterOptions {
  /** Defaults to the pool's config.maxConsumersPerRouter. */
  maxConsumersPerRouter?: number;
  /** Defaults to the pool's logger. */
  logger?: SfuLogger;
  /** Runs the rebuild back-off after the origin's worker died; defaults to setTimeout. */
  timer?: Timer;
}

/** What every media object of one stream shares (internal: not exported from the package). */
export interface MediaContext {
  readonly streamId: string;
  readonly config: SfuConfig;
  readonly log: SfuLogger;
  readonly timer: Timer;
  /** The WebRtcServer of a worker (the pool's): every WebRtcTransport is served on its port. */
  readonly webRtcServer: (worker: ms.Worker) => ms.WebRtcServer;
  /** The port range of a worker (the pool's): its pipe and plain transports bind there. */
  readonly portRange: (worker: ms.Worker) => ms.TransportPortRange;
}

/** A transport's connection state and byte counters: liveness for peers without a socket (WHIP, WHEP). */
export interface TransportHealth {
  iceState: ms.IceState;
  dtlsState: ms.DtlsState;
  bytesReceived: number;
  bytesSent: number;
}

/** One RTP stream a producer receives (one per simulcast encoding). */
export interface ProducerStreamStats {
  /** The encoding's RTP stream id, if it is sent by rid. */
  rid: string | undefined;
  ssrc: number;
  /** Once a retransmission was seen. */
  rtxSsrc: number | undefined;
  /** Bits per second over mediasoup's last measuring window. */
  bitrate: number;
  byteCount: number;
  /** 0–10, mediasoup's receive quality score (0 while no packets arrive). */
  score: number;
}

export interface StreamRouterCounts {
  routers: number;
  /** WebRtcTransports of peers (pipe transports are not counted). */
  transports: number;
  /** Producers of peers (pipe producers are not counted). */
  producers: number;
  /** Consumers of peers (pipe consumers are not counted). */
  consumers: number;
  /** Peer consumers on each router: origin first, then fan-out routers. */
  consumersPerRouter: number[];
}

export interface StreamRouterPlacement {
  origin: { routerId: string; workerPid: number };
  fanout: { routerId: string; workerPid: number }[];
}
