/** What the cluster's room bus (redis-bus.ts) reports about itself: the process goes on, and each code says what may be missing. */
export type RoomBusErrorCode =
  /** Redis cannot be reached (reported on every failed connection attempt while it lasts). */
  | 'bus_unavailable'
  | 'bus_publish_failed'
  | 'bus_subscribe_failed'
  /** Events of a stream were missed (a subscriber connection dropped meanwhile): `details` says which. */
  | 'bus_gap'
  /** The sequence went back (Redis restarted without its data): counting resumes from the new value. */
  | 'bus_sequence_reset'
  /** Something on a stream's channel that is not an envelope. */
  | 'bus_bad_message';

export class RoomBusError extends Error {
  override readonly name = 'RoomBusError';
  constructor(
    readonly code: RoomBusErrorCode,
    message: string,
    readonly details: { streamId?: number; expectedSeq?: number; seq?: number } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
