// The webhook contract: what a receiver gets. One JSON body per delivery:
// `{ id, type, createdAt, data }`; `data` by `type` below.

export interface WebhookPerson {
  id: number;
  username: string;
}

export type WebhookEvent =
  | { type: 'stream.started'; data: { streamId: number; title: string; streamer: WebhookPerson; startedAt: number } }
  | { type: 'stream.ended'; data: { streamId: number; reason: string; endedAt: number } }
  | { type: 'user.banned'; data: { channel: WebhookPerson; user: WebhookPerson; by: WebhookPerson; reason: string; streamId: number } }
  /** Sent once recordings exist (the recording issue): the slot is typed so emitting it needs no contract change. */
  | { type: 'recording.ready'; data: { streamId: number; recordingId: number; url: string; durationMs: number } };

export type WebhookEventType = WebhookEvent['type'];

/** Signature header value: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` (docs/webhooks.md). */
export const SIGNATURE_HEADER = 'x-redred-signature';
export const EVENT_HEADER = 'x-redred-event';
export const DELIVERY_HEADER = 'x-redred-delivery';
