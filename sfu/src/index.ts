export { resolveSfuConfig, defaultMediaCodecs, workerPortRange, type SfuConfig } from './config.ts';
export { SfuError, isSfuError, type SfuErrorCode } from './errors.ts';
export { consoleLogger, silentLogger, type SfuLogger } from './logger.ts';
export { TypedEmitter, type EventMap, type ListenerErrorHandler } from './TypedEmitter.ts';
export { systemTimer, type Timer } from './timer.ts';
export {
  WorkerPool,
  type WorkerPoolEvents,
  type WorkerPoolOptions,
  type WorkerLoad,
  type WorkerUsage,
} from './WorkerPool.ts';
export { StreamRouter } from './StreamRouter.ts';
export { RecorderTap, type RecorderTapRequest, type RecorderTarget, type RecorderTrack, type RecorderTapCloseReason } from './RecorderTap.ts';
export { OriginPipe, REMOTE_PEER_ID } from './ClusterPipe.ts';
export type { ClusterPipeConfig, OriginLink, PipedProducer, PipeEndpoint, RemoteOriginSpec, RemoteProducerInfo } from './ClusterPipeTypes.ts';
export type {
  ConsumerClosed,
  ConsumerLayers,
  ConsumerOffer,
  ConsumerType,
  DtlsParameters,
  IceCandidate,
  IceParameters,
  LayerPreference,
  MediaKind,
  MediaReset,
  PeerDtlsParameters,
  PeerRtpCapabilities,
  PeerRtpParameters,
  ProduceRequest,
  ProducerInfo,
  ProducerSource,
  ProducerStreamStats,
  RtpCapabilities,
  RtpParameters,
  StreamRouterCounts,
  StreamRouterEvents,
  StreamRouterOptions,
  StreamRouterPlacement,
  TransportDirection,
  TransportHealth,
  TransportOffer,
} from './StreamRouterTypes.ts';
