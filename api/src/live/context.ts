import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '@redred/db';
import type { WorkerPool } from '@redred/sfu';
import type { AppConfig } from '../config.ts';
import type { ClusterNode } from '../cluster/node.ts';
import type { OriginMap } from '../cluster/origin-map.ts';
import type { RoomBus } from './bus.ts';
import type { SiteGate } from './gate.ts';
import type { WebhookSender } from '../webhooks/sender.ts';
import type { StreamRoom } from './room.ts';

/** What the live subsystem needs from the app: passed explicitly, no globals. */
export interface LiveContext {
  db: Db;
  now: () => number;
  log: FastifyBaseLogger;
  pool: WorkerPool;
  config: AppConfig;
  /** The one path of room events to sockets (in-process today; Redis in cluster mode). */
  bus: RoomBus;
  /** Site-wide decisions (who may stream). */
  site: SiteGate;
  /** Signed events to WEBHOOK_URLS; `emit` never blocks. */
  webhooks: WebhookSender;
  /** Records the rooms whose stream asked for it (set by the recording plugin). */
  recordings?: { attach(room: StreamRoom, record: boolean): void } | undefined;
  /** This process as a node of a cluster (Redis + PostgreSQL); null for a lone node. */
  cluster: ClusterNode | null;
  /** Cluster mode: the stream → origin map. */
  origins: OriginMap | null;
}
