/**
 * Stable error codes the owner (the api) can put on the wire unchanged.
 * Anything mediasoup throws that is not listed here is an internal error and
 * is rethrown as it is.
 */
export type SfuErrorCode =
  | 'transport_not_found'
  | 'producer_not_found'
  | 'consumer_not_found'
  | 'cannot_consume'
  | 'invalid_parameters'
  | 'stream_closed'
  | 'not_allowed'
  | 'worker_unavailable';

export class SfuError extends Error {
  override readonly name = 'SfuError';
  readonly code: SfuErrorCode;

  constructor(code: SfuErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isSfuError(error: unknown, code?: SfuErrorCode): error is SfuError {
  return error instanceof SfuError && (code === undefined || error.code === code);
}

/**
 * mediasoup reports bad DTLS/RTP parameters as TypeError (both its own ortc
 * validation and the worker's MS_THROW_TYPE_ERROR, which the Channel turns
 * into TypeError) and unsupported codecs as UnsupportedError. Those are the
 * caller's fault, so they become 'invalid_parameters'. InvalidStateError means
 * the object (or its worker's channel) closed while the call was in flight.
 */
export function fromMediasoupError(error: unknown, action: string): unknown {
  if (error instanceof SfuError || !(error instanceof Error)) return error;
  // The worker's reason ends in " [method:transport.connect]" (3.8.4 sent that suffix alone); our action
  // name says which of our calls failed in the caller's terms.
  const detail = `${action}: ${error.message.trim() || error.name}`;
  if (error instanceof TypeError || error.name === 'UnsupportedError') {
    return new SfuError('invalid_parameters', `invalid parameters for ${detail}`, { cause: error });
  }
  if (error.name === 'InvalidStateError') {
    return new SfuError('stream_closed', `closed during ${detail}`, { cause: error });
  }
  return error;
}

/** Runs a mediasoup call, translating caller-fault errors into SfuError. */
export async function callMediasoup<T>(action: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw fromMediasoupError(error, action);
  }
}
