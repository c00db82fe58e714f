import type { types as ms } from 'mediasoup';
import type { MediaKind, ProducerSource, RtpParameters } from './StreamRouterTypes.ts';

/** One end of a pipe between two hosts: where it listens and how its SRTP is keyed. */
export interface PipeEndpoint {
  ip: string;
  port: number;
  srtpParameters: ms.SrtpParameters;
}

/** A producer of the origin as the edge sees it: enough to list it and to ask for it. */
export interface RemoteProducerInfo {
  id: string;
  kind: MediaKind;
  source: ProducerSource;
}

/** What the origin's pipe consumer sends: the edge produces the same RTP under the same id. */
export interface PipedProducer extends RemoteProducerInfo {
  rtpParameters: RtpParameters;
  paused: boolean;
}

/**
 * How an edge reaches the origin of its stream. The sfu knows nothing of
 * networks or nodes: the api implements this over authenticated HTTP.
 */
export interface OriginLink {
  /** Opens a pipe on the origin towards `edge` (already listening) and returns the origin's end. */
  open(edge: PipeEndpoint): Promise<{ pipeId: string; origin: PipeEndpoint }>;
  /** The origin's pipe consumer of one producer on that pipe. */
  consume(pipeId: string, producerId: string): Promise<PipedProducer>;
  /** The edge closed its end; the origin may close its own (best effort, never throws). */
  close(pipeId: string): void;
}

/** Where this host's pipe transports listen, for media from and to the other hosts. */
export interface ClusterPipeConfig {
  /** Address bound. */
  listenIp: string;
  /** Address the other host sends to, when it is not `listenIp` (NAT, 0.0.0.0). */
  announcedIp?: string | undefined;
}

/** The origin of a stream whose producers live on another host. */
export interface RemoteOriginSpec {
  /** Names the origin (its node): a different one is a new origin, with a new pipe. */
  originId: string;
  producers: RemoteProducerInfo[];
  link: OriginLink;
  pipe: ClusterPipeConfig;
  /** The pipe stays this long after the last viewer's consumer closed (0: closes at once). */
  lingerMs: number;
  /**
   * Keyframe requests of this host's viewers reach the origin at most once per
   * this many ms (the piped producer's `keyFrameRequestDelay`): a burst of joins
   * costs the streamer one keyframe, not one each.
   */
  keyFrameRequestDelayMs: number;
}
