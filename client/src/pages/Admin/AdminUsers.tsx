import { useEffect, useState } from 'preact/hooks';
import type { AdminUser } from '@redred/api/protocol';
import { useApp } from '../../app-context.ts';
import { restApi } from '../../net/api.ts';

const message = (err: unknown) => (err instanceof Error ? err.message : 'the server refused');

/** Users: search, disable, delete (with or without comments), force logout, reset link, admin and streamer flags. */
export function AdminUsers({ onChange }: { onChange: () => void }) {
  const { session } = useApp();
  const [query, setQuery] = useState('');
  const [users, setUsers] = useState<AdminUser[]>([]);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const search = (q: string) => restApi.admin.users(q).then((b) => setUsers(b.users), (e: unknown) => setError(message(e)));
  useEffect(() => void search(''), []);

  const act = async (run: () => Promise<string | null>) => {
    setError(null);
    setNotice(null);
    try {
      setNotice(await run());
      onChange();
      await search(query);
    } catch (e) {
      setError(message(e));
    }
  };
  const me = session.user.value?.id;
  return (
    <section class="card panel stack" aria-labelledby="admin-users" data-testid="admin-users">
      <h2 id="admin-users">Users</h2>
      <form
        class="row"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          void search(query);
        }}
      >
        <input class="field__input" aria-label="Search users by name" placeholder="Search by name" data-testid="admin-user-search" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
        <button type="submit" class="btn btn--sm">
          Search
        </button>
      </form>
      {error ? <p class="field__error" role="alert">{error}</p> : null}
      {notice ? (
        <p class="notice" role="status" data-testid="admin-notice">
          {notice}
        </p>
      ) : null}
      <ul class="admin-list">
        {users.map((u) => (
          <li class="admin-list__item" key={u.id} data-testid={`admin-user-${u.username}`}>
            <span>
              <strong>{u.username}</strong>
              {u.isAdmin ? ' · admin' : ''}
              {u.mayStream ? ' · approved streamer' : ''}
              {u.disabledAt !== null ? ' · disabled' : ''}
            </span>
            {u.id === me ? null : (
              <span class="row">
                <button type="button" class="btn btn--ghost btn--sm" onClick={() => void act(async () => (await restApi.admin.setDisabled(u.id, u.disabledAt === null), null))}>
                  {u.disabledAt === null ? 'Disable' : 'Enable'}
                </button>
                <button type="button" class="btn btn--ghost btn--sm" onClick={() => void act(async () => `${(await restApi.admin.logoutUser(u.id)).sessionsEnded} session(s) ended`)}>
                  Log out everywhere
                </button>
                <button type="button" class="btn btn--ghost btn--sm" onClick={() => void act(async () => `Give ${u.username} this link (valid 24 h): ${(await restApi.admin.resetLink(u.id)).url}`)}>
                  Reset-password link
                </button>
                <button type="button" class="btn btn--ghost btn--sm" onClick={() => void act(async () => (await restApi.admin.setMayStream(u.id, !u.mayStream), null))}>
                  {u.mayStream ? 'Unapprove streaming' : 'Approve streaming'}
                </button>
                <button type="button" class="btn btn--ghost btn--sm" onClick={() => void act(async () => (await restApi.admin.setAdmin(u.id, !u.isAdmin), null))}>
                  {u.isAdmin ? 'Remove admin' : 'Make admin'}
                </button>
                {([false, true] as const).map((withComments) => (
                  <button
                    key={String(withComments)}
                    type="button"
                    class="btn btn--danger btn--sm"
                    onClick={() =>
                      confirm(`Delete ${u.username}${withComments ? ' and hide all their comments' : ' (their comments stay)'}? This cannot be undone.`) &&
                      void act(async () => `Deleted; ${(await restApi.admin.deleteUser(u.id, withComments)).commentsDeleted} comment(s) hidden`)
                    }
                  >
                    {withComments ? 'Delete with comments' : 'Delete'}
                  </button>
                ))}
              </span>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
