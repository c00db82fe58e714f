import type { LiveConnection } from '../net/live-connection.ts';
import { formatRemaining } from '../lib/format.ts';
import { useNow } from '../lib/hooks.ts';

/** Says what the socket is doing when it is not simply connected: the viewer is never left guessing. */
export function ConnectionBanner({ connection }: { connection: LiveConnection }) {
  const status = connection.status.value;
  const over = connection.over.value;
  const retryAt = connection.retryAt.value;
  const now = useNow(500, status === 'reconnecting');

  if (status === 'open' || status === 'closed') return null;
  if (status === 'connecting') {
    return (
      <div class="banner banner--info" role="status" data-testid="connection-status" data-status="connecting">
        Connecting…
      </div>
    );
  }
  if (status === 'reconnecting') {
    return (
      <div class="banner banner--warn" role="status" data-testid="connection-status" data-status="reconnecting">
        <span>
          Connection lost. {retryAt && retryAt > now ? `Reconnecting in ${formatRemaining(retryAt - now)}…` : 'Reconnecting…'}
        </span>
        <button type="button" class="btn btn--sm btn--ghost" onClick={() => connection.reconnectNow()}>
          Retry now
        </button>
      </div>
    );
  }
  // status === 'over'
  if (!over || over.kind === 'ended') return null;
  const text = over.kind === 'kicked' ? `You were removed from this stream. ${over.message}` : `You are banned from this channel. ${over.message}`;
  return (
    <div class="banner banner--error" role="alert" data-testid="connection-status" data-status={over.kind}>
      {text}
    </div>
  );
}
