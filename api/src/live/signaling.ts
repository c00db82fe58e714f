import { SfuError, type ProducerInfo, type SfuErrorCode } from '@redred/sfu';
import { AppError } from '../errors.ts';
import type { ErrorCode } from '../protocol/errors.ts';
import type { ClientMessageOf } from '../protocol/client-messages.ts';
import type { LiveConnection } from './connection.ts';
import type { LiveContext } from './context.ts';
import { endStream, markLive } from './lifecycle.ts';
import type { StreamRoom } from './room.ts';

/** One send transport and a spare recv transport are plenty; more is a client bug or abuse. */
export const MAX_TRANSPORTS_PER_CONNECTION = 4;

/** Every SFU error has its wire code: the compiler refuses a new SfuErrorCode until it is mapped here. */
const SFU_CODES: Readonly<Record<SfuErrorCode, ErrorCode>> = {
  transport_not_found: 'transport_not_found',
  producer_not_found: 'producer_not_found',
  consumer_not_found: 'consumer_not_found',
  cannot_consume: 'cannot_consume',
  invalid_parameters: 'invalid_parameters',
  stream_closed: 'media_unavailable',
  not_allowed: 'forbidden',
  worker_unavailable: 'unavailable',
};

/** Media errors keep their meaning on the wire. */
export function toAppError(err: unknown): unknown {
  if (err instanceof SfuError) return new AppError(SFU_CODES[err.code], err.message);
  return err;
}

async function media<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw toAppError(err);
  }
}


export const signalingHandlers = {
  async create_transport(ctx: LiveContext, room: StreamRoom, conn: LiveConnection, msg: ClientMessageOf<'create_transport'>) {
    if (msg.direction === 'send') await room.gate.assertPublisher(conn);
    if (conn.transports >= MAX_TRANSPORTS_PER_CONNECTION) throw new AppError('rate_limited', `at most ${MAX_TRANSPORTS_PER_CONNECTION} transports per connection`);
    conn.transports++;
    let transport;
    try {
      transport = await media(() => room.media.createTransport(conn.id, msg.direction));
    } catch (err) {
      conn.transports--;
      throw err;
    }
    conn.send({ type: 'offer', requestId: msg.requestId, kind: 'transport', direction: msg.direction, transport });
  },

  async answer(ctx: LiveContext, room: StreamRoom, conn: LiveConnection, msg: ClientMessageOf<'answer'>) {
    if (msg.kind === 'connect') {
      await media(() => room.media.connectTransport(conn.id, msg.transportId, msg.dtlsParameters));
      conn.send({ type: 'ack', requestId: msg.requestId });
      return;
    }
    await room.gate.assertPublisher(conn);
    // One publisher per stream: an encoder (WHIP) already live keeps the stream (POST /api/whip answers 409 the other way round).
    if (room.media.getProducers().some((p) => p.kind === 'video' && p.peerId !== conn.id)) {
      throw new AppError('already_publishing', 'this stream is already published from another source (e.g. OBS); stop it first');
    }
    if (msg.source === 'camera' || msg.source === 'screen') {
      if (msg.mediaKind !== 'video') throw new AppError('invalid_parameters', `${msg.source} must be video`);
    } else if (msg.mediaKind !== 'audio') {
      throw new AppError('invalid_parameters', `${msg.source} must be audio`);
    }
    const producerId = await media(() =>
      room.media.produce(conn.id, msg.transportId, { kind: msg.mediaKind, rtpParameters: msg.rtpParameters, source: msg.source }),
    );
    conn.send({ type: 'produced', requestId: msg.requestId, producerId });
    if (msg.mediaKind === 'video') await markLive(ctx, room);
  },

  async consume(_ctx: LiveContext, room: StreamRoom, conn: LiveConnection, msg: ClientMessageOf<'consume'>) {
    const consumer = await media(() => room.media.consume(conn.id, msg.transportId, msg.producerId, msg.rtpCapabilities));
    conn.send({ type: 'offer', requestId: msg.requestId, kind: 'consumer', consumer });
  },

  async resume_consumer(_ctx: LiveContext, room: StreamRoom, conn: LiveConnection, msg: ClientMessageOf<'resume_consumer'>) {
    await media(() => room.media.resumeConsumer(conn.id, msg.consumerId));
    conn.send({ type: 'ack', requestId: msg.requestId });
  },

  async set_layer(_ctx: LiveContext, room: StreamRoom, conn: LiveConnection, msg: ClientMessageOf<'set_layer'>) {
    await media(() => room.media.setPreferredLayer(conn.id, msg.consumerId, msg.layer));
    conn.send({ type: 'ack', requestId: msg.requestId });
    conn.send({ type: 'layer_changed', consumerId: msg.consumerId, layer: msg.layer });
  },

  async restart_ice(_ctx: LiveContext, room: StreamRoom, conn: LiveConnection, msg: ClientMessageOf<'restart_ice'>) {
    const res = await media(() => room.media.restartIce(conn.id, msg.transportId));
    conn.send({ type: 'ice_candidate', requestId: msg.requestId, transportId: msg.transportId, iceParameters: res.iceParameters, candidates: res.iceCandidates });
  },

  // The SFU is ICE-lite: it never gathers the peer's candidates, it learns the
  // peer's address from the peer's connectivity checks. Accepted and ignored.
  async ice_candidate() {},

  async close_producer(_ctx: LiveContext, room: StreamRoom, conn: LiveConnection, msg: ClientMessageOf<'close_producer'>) {
    room.gate.assert(conn, 'start_stream');
    await media(async () => room.media.closeProducer(conn.id, msg.producerId));
    conn.send({ type: 'ack', requestId: msg.requestId });
  },

  async end_stream(ctx: LiveContext, room: StreamRoom, conn: LiveConnection, msg: ClientMessageOf<'end_stream'>) {
    room.gate.assert(conn, 'end_stream');
    // Acked before the room closes, so the streamer's request gets its answer.
    conn.send({ type: 'ack', requestId: msg.requestId });
    await endStream(ctx, room, room.streamId, 'streamer_ended');
  },
};

/** Tells peers what the SFU did on its own: new or gone producers, closed consumers, a rebuilt router. */
export function wireMediaEvents(ctx: LiveContext, room: StreamRoom): void {
  const added = (p: ProducerInfo) =>
    room.publish({ kind: 'message', audience: { to: 'all_but', connectionId: p.peerId }, message: { type: 'producer_added', producer: { id: p.id, kind: p.kind, source: p.source } } });
  const removed = (p: ProducerInfo) => room.publish({ kind: 'message', audience: { to: 'all_but', connectionId: p.peerId }, message: { type: 'producer_removed', producerId: p.id } });
  const cluster = room.cluster;
  if (!cluster) {
    room.media.on('produceradded', added);
    room.media.on('producerremoved', removed);
  } else {
    // Cluster mode: the streamer publishes here, so this node is the origin. Edges hear where to
    // pipe from (the map and an `origin` event) before they hear of the producer.
    const announce = (then: () => void) => {
      const local = room.media.getProducers().map(({ id, kind, source }) => ({ id, kind, source }));
      cluster.producersChanged(local).then(then, (err: unknown) => {
        ctx.log.error({ err, streamId: room.streamId }, 'could not claim the stream origin; edges cannot pipe its media');
        then();
      });
    };
    room.media.on('produceradded', (p) => {
      room.media.setRemoteOrigin(null);
      announce(() => added(p));
    });
    room.media.on('producerremoved', (p) => {
      if (cluster.isOrigin) announce(() => removed(p));
      else removed(p);
    });
  }
  room.media.on('consumerclosed', (e) => {
    room.publish({ kind: 'message', audience: { to: 'connections', ids: [e.peerId] }, message: { type: 'consumer_closed', consumerId: e.consumerId } });
  });
  room.media.on('close', () => {
    // The SFU gave up on this stream (it could not rebuild after worker deaths).
    if (room.closed) return;
    ctx.log.error({ module: 'signaling', streamId: room.streamId }, 'media closed under a live room: ending the stream');
    void endStream(ctx, room, room.streamId, 'media_failure').catch((err: unknown) => ctx.log.error({ err }, 'could not end stream'));
  });
  room.media.on('mediareset', (reset) => {
    ctx.log.warn({ module: 'signaling', streamId: room.streamId, reason: reset.reason, scope: reset.scope }, 'media reset: peers re-negotiate');
    room.publish({ kind: 'media_reset', reason: reset.reason, scope: reset.scope, connectionIds: reset.scope === 'all' ? null : reset.peerIds });
  });
}
