import { useEffect, useState } from 'preact/hooks';
import type { ModerationListsBody } from '@redred/api/protocol';
import { ApiError, restApi } from '../net/api.ts';
import type { LiveRoom } from '../state/live-room.ts';

type Person = ModerationListsBody['bans'][number];

/**
 * The channel's moderators, VIPs, bans and running timeouts, each with its
 * action, and appointing by username. Reads over REST; every action is the
 * room's moderation message, so the gate decides as for any other.
 */
export function ModerationLists({ room, channelId }: { room: LiveRoom; channelId: number }) {
  const [lists, setLists] = useState<ModerationListsBody | null>(null);
  const [name, setName] = useState('');
  const [role, setRole] = useState<'moderator' | 'vip'>('moderator');
  const [error, setError] = useState<string | null>(null);
  const load = () => restApi.moderationLists(channelId).then(setLists, (e: unknown) => setError(e instanceof Error ? e.message : 'unavailable'));
  useEffect(() => void load(), [channelId]);
  const after = async (done: Promise<boolean>) => {
    if (await done) await load();
  };
  const user = (p: Person) => ({ id: p.userId, username: p.username });

  const appoint = async (event: Event) => {
    event.preventDefault();
    setError(null);
    try {
      const found = await restApi.channel(name.trim());
      await after(room.setRole({ ...found.channel, role: 'viewer' }, role));
      setName('');
    } catch (e) {
      setError(e instanceof ApiError && e.code === 'user_not_found' ? `no user "${name.trim()}"` : e instanceof Error ? e.message : 'failed');
    }
  };

  const section = (title: string, testid: string, people: Person[] | undefined, action: (p: Person) => { label: string; run: () => Promise<boolean> } | null) => (
    <div class="stack" data-testid={testid}>
      <h3>{title}</h3>
      {people?.length === 0 ? <p class="muted">Nobody.</p> : null}
      <ul class="admin-list">
        {people?.map((p) => {
          const a = action(p);
          return (
            <li key={p.userId} class="admin-list__item">
              <span>
                <strong>{p.username}</strong>
                {p.reason ? <span class="muted"> · “{p.reason}”</span> : null}
                {p.until ? <span class="muted"> · until {new Date(p.until).toLocaleTimeString()}</span> : null}
              </span>
              {a ? (
                <button type="button" class="btn btn--ghost btn--sm" data-testid={`${testid}-action`} onClick={() => void after(a.run())}>
                  {a.label}
                </button>
              ) : null}
            </li>
          );
        })}
      </ul>
    </div>
  );

  return (
    <section class="card panel stack" aria-labelledby="mod-lists" data-testid="moderation-lists">
      <header class="panel__head">
        <h2 id="mod-lists">Moderation</h2>
        <button type="button" class="btn btn--ghost btn--sm" onClick={() => void load()}>
          Refresh
        </button>
      </header>
      <form class="row mod-lists__appoint" onSubmit={appoint}>
        <input class="field__input" aria-label="Username to appoint" placeholder="Username" data-testid="appoint-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <select class="field__input" aria-label="Role" value={role} onChange={(e) => setRole(e.currentTarget.value as 'moderator' | 'vip')}>
          <option value="moderator">Moderator</option>
          <option value="vip">VIP</option>
        </select>
        <button type="submit" class="btn btn--sm" data-testid="appoint" disabled={!name.trim()}>
          Appoint
        </button>
      </form>
      {error ? <p class="field__error" role="alert">{error}</p> : null}
      {section('Moderators', 'list-moderators', lists?.moderators, (p) => ({ label: 'Remove', run: () => room.setRole({ ...user(p), role: 'moderator' }, 'viewer') }))}
      {section('VIPs', 'list-vips', lists?.vips, (p) => ({ label: 'Remove', run: () => room.setRole({ ...user(p), role: 'vip' }, 'viewer') }))}
      {section('Banned', 'list-bans', lists?.bans, (p) => ({ label: 'Unban', run: () => room.unban(user(p)) }))}
      {section('Timed out', 'list-timeouts', lists?.timeouts, (p) => ({ label: 'Ban instead', run: () => room.ban(user(p), p.reason || undefined) }))}
    </section>
  );
}
