/**
 * Where a viewer's new recv transport goes: a pure decision over consumer
 * counts, so it is tested without a worker. The stream's routers are the
 * origin (index 0) and its fan-out routers.
 */

/** A peer recv transport's consumers, made and still being made. */
export interface TransportConsumption {
  consumers: number;
  /** consume() calls in flight (the pipe, then the worker's answer). */
  consuming: number;
}

/**
 * The consumers a recv transport stands for. One that has not consumed yet
 * will consume every producer of the stream (a viewer of camera + mic is two),
 * so it counts that many: counting it as one let a burst of joins overfill a
 * router. Once it has consumed, what it actually holds counts.
 */
export function transportLoad(transport: TransportConsumption, producers: number): number {
  const expected = transport.consumers + transport.consuming;
  return expected > 0 ? expected : Math.max(1, producers);
}

/** A router's load: its recv transports, plus those being created on it (which have not consumed yet). */
export function routerLoad(
  transports: Iterable<TransportConsumption>,
  pendingTransports: number,
  producers: number,
): number {
  let load = pendingTransports * transportLoad({ consumers: 0, consuming: 0 }, producers);
  for (const transport of transports) load += transportLoad(transport, producers);
  return load;
}

export interface RouterSlot {
  load: number;
  /** A fan-out router takes viewers only once the stream's producers are piped to it. */
  ready: boolean;
}

export type PlacementDecision =
  /** The least-loaded ready router below the limit. */
  | { action: 'use'; index: number }
  /** Every ready router is at its limit: add a fan-out router (or wait for the one being added), then decide again. */
  | { action: 'add' }
  /** Full, and no router can be added: the least-loaded ready router goes over its limit. */
  | { action: 'overflow'; index: number };

/**
 * `limit` is a threshold, as SfuConfig.maxConsumersPerRouter documents it: a
 * router takes new viewers while its load is below it. A viewer that consumes
 * every producer fills it exactly when the limit is a multiple of the
 * producer count (250 for camera + mic); ties go to the lowest index, the origin.
 */
export function placeRecvTransport(
  routers: readonly RouterSlot[],
  limit: number,
  canAddRouter: boolean,
): PlacementDecision {
  let best: number | undefined;
  let leastLoaded: number | undefined;
  routers.forEach((router, index) => {
    if (!router.ready) return;
    if (leastLoaded === undefined || router.load < (routers[leastLoaded]?.load ?? Infinity)) leastLoaded = index;
    if (router.load >= limit) return;
    if (best === undefined || router.load < (routers[best]?.load ?? Infinity)) best = index;
  });
  if (best !== undefined) return { action: 'use', index: best };
  if (canAddRouter || leastLoaded === undefined) return { action: 'add' };
  return { action: 'overflow', index: leastLoaded };
}
