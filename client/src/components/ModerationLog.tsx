import type { ModerationLogEntry } from '@redred/api/protocol';
import { formatClock, formatRemaining } from '../lib/format.ts';
import type { LiveRoom } from '../state/live-room.ts';
import { Icon } from './Icon.tsx';

const ACTION_TEXT: Record<string, string> = {
  delete_comment: 'deleted a message by',
  timeout: 'timed out',
  timeout_user: 'timed out',
  kick: 'kicked',
  kick_user: 'kicked',
  ban: 'banned',
  ban_user: 'banned',
  unban: 'unbanned',
  unban_user: 'unbanned',
  add_moderator: 'made moderator',
  remove_moderator: 'removed moderator',
  add_vip: 'made VIP',
  remove_vip: 'removed VIP',
  update_chat_settings: 'changed the chat settings',
  chat_settings: 'changed the chat settings',
};

function describe(entry: ModerationLogEntry): string {
  const verb = ACTION_TEXT[entry.action] ?? entry.action.replace(/_/g, ' ');
  const seconds = entry.details.durationSeconds;
  const duration = typeof seconds === 'number' ? ` for ${formatRemaining(seconds * 1000)}` : '';
  return `${entry.actor?.username ?? 'system'} ${verb}${entry.target ? ` ${entry.target.username}` : ''}${duration}`;
}

export function ModerationLog({ room }: { room: LiveRoom }) {
  const entries = room.moderationLog.entries.value;
  const error = room.moderationLog.error.value;
  return (
    <section class="card panel" aria-labelledby="modlog-title" data-testid="moderation-log">
      <header class="panel__head">
        <h2 id="modlog-title" class="panel__title">
          Moderation log
        </h2>
        <button type="button" class="iconbtn" aria-label="Refresh the moderation log" onClick={() => void room.refreshModerationLog()}>
          <Icon name="refresh" size={18} />
        </button>
      </header>
      {error ? <p class="panel__note">Unavailable: {error}</p> : null}
      {!error && entries.length === 0 ? <p class="panel__note">Nothing yet.</p> : null}
      <ol class="modlog">
        {entries.map((e) => (
          <li key={e.id} class="modlog__item" data-testid="moderation-log-entry" data-action={e.action}>
            <time class="modlog__time" dateTime={new Date(e.createdAt).toISOString()}>
              {formatClock(e.createdAt)}
            </time>
            <span class="modlog__text">{describe(e)}</span>
            {e.reason ? <span class="modlog__reason">“{e.reason}”</span> : null}
          </li>
        ))}
      </ol>
    </section>
  );
}
