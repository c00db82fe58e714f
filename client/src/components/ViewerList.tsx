import { useState } from 'preact/hooks';
import type { ViewerEntry } from '@redred/api/protocol';
import { formatDuration } from '../lib/format.ts';
import { useNow } from '../lib/hooks.ts';
import type { LiveRoom } from '../state/live-room.ts';
import { Icon } from './Icon.tsx';
import { RoleBadge } from './RoleBadge.tsx';

const TIMEOUTS: { seconds: number; label: string }[] = [
  { seconds: 60, label: '1 min' },
  { seconds: 600, label: '10 min' },
  { seconds: 3600, label: '1 h' },
  { seconds: 86_400, label: '24 h' },
];

/** Who is watching, with the actions the streamer (and moderators, as the server allows) can take. */
export function ViewerList({ room }: { room: LiveRoom }) {
  const [filter, setFilter] = useState('');
  const people = room.viewers.people.value;
  const anonymous = room.viewers.anonymous.value;
  const total = room.viewers.totalSignedIn.value;
  const isStreamer = room.stream.role.value === 'streamer';
  const myId = room.stream.me.value?.id;
  const now = useNow(10_000);
  const offset = room.stream.clockOffsetMs.value;
  const needle = filter.trim().toLowerCase();
  const shown = needle ? people.filter((p) => p.username.toLowerCase().includes(needle)) : people;

  return (
    <section class="card panel" aria-labelledby="viewers-title" data-testid="viewer-list">
      <header class="panel__head">
        <h2 id="viewers-title" class="panel__title">
          Viewers <span class="panel__count">{total + anonymous}</span>
        </h2>
        <button type="button" class="iconbtn" aria-label="Refresh the viewer list" onClick={() => void room.refreshViewers()}>
          <Icon name="refresh" size={18} />
        </button>
      </header>
      <label class="visually-hidden" for="viewer-filter">
        Find a viewer
      </label>
      <input id="viewer-filter" class="input input--sm" type="search" placeholder="Find a viewer" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} />
      <ul class="viewers">
        {shown.map((p) => (
          <ViewerRow key={p.id} person={p} room={room} isStreamer={isStreamer} isMe={p.id === myId} watching={formatDuration(now + offset - p.since)} />
        ))}
        {shown.length === 0 ? <li class="viewers__empty">{needle ? 'Nobody by that name.' : 'No signed-in viewers yet.'}</li> : null}
      </ul>
      <p class="panel__foot">
        {anonymous > 0 ? `${anonymous} guest${anonymous === 1 ? '' : 's'} watching without an account. ` : ''}
        {total > people.length ? `${total - people.length} more not shown.` : ''}
      </p>
    </section>
  );
}

function ViewerRow({ person, room, isStreamer, isMe, watching }: { person: ViewerEntry; room: LiveRoom; isStreamer: boolean; isMe: boolean; watching: string }) {
  const actionable = !isMe && person.role !== 'streamer';
  return (
    <li class="viewer" data-testid="viewer-row" data-user-id={person.id} data-username={person.username} data-role={person.role}>
      <span class="viewer__who">
        <RoleBadge role={person.role} />
        <span class="viewer__name">{person.username}</span>
      </span>
      <span class="viewer__since" title="Watching for">
        {watching}
      </span>
      {actionable ? (
        <details class="menu">
          <summary class="btn btn--sm btn--ghost" data-testid="viewer-actions" aria-label={`Actions for ${person.username}`}>
            Actions
          </summary>
          <div
            class="menu__list"
            role="group"
            aria-label={`Actions for ${person.username}`}
            onClick={(e) => {
              // The menu closes once an action is chosen.
              if (e.target instanceof HTMLButtonElement) e.currentTarget.closest('details')?.removeAttribute('open');
            }}
          >
            {isStreamer ? (
              <>
                {person.role === 'moderator' ? (
                  <button type="button" class="menu__item" data-testid="remove-mod" onClick={() => void room.setRole(person, 'viewer')}>
                    Remove moderator
                  </button>
                ) : (
                  <button type="button" class="menu__item" data-testid="make-mod" onClick={() => void room.setRole(person, 'moderator')}>
                    Make moderator
                  </button>
                )}
                {person.role === 'vip' ? (
                  <button type="button" class="menu__item" data-testid="remove-vip" onClick={() => void room.setRole(person, 'viewer')}>
                    Remove VIP
                  </button>
                ) : person.role !== 'moderator' ? (
                  <button type="button" class="menu__item" data-testid="make-vip" onClick={() => void room.setRole(person, 'vip')}>
                    Make VIP
                  </button>
                ) : null}
              </>
            ) : null}
            {TIMEOUTS.map((t) => (
              <button type="button" class="menu__item" key={t.seconds} data-testid={`timeout-${t.seconds}`} onClick={() => void room.timeout(person, t.seconds)}>
                Time out {t.label}
              </button>
            ))}
            <button type="button" class="menu__item menu__item--danger" data-testid="kick" onClick={() => void room.kick(person)}>
              Kick (5 min)
            </button>
            <button type="button" class="menu__item menu__item--danger" data-testid="ban" onClick={() => void room.ban(person)}>
              Ban from channel
            </button>
          </div>
        </details>
      ) : null}
    </li>
  );
}
