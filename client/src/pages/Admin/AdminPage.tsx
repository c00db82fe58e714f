import { useEffect, useState } from 'preact/hooks';
import type { AdminLogBody, SiteSettingsBody, StreamInfo } from '@redred/api/protocol';
import { useApp } from '../../app-context.ts';
import { restApi } from '../../net/api.ts';
import { Link } from '../../router.tsx';
import { AdminUsers } from './AdminUsers.tsx';

const message = (err: unknown) => (err instanceof Error ? err.message : 'the server refused');

/** The site admin's page: live streams, users, site settings, the audit log. The server checks every action. */
export function AdminPage() {
  const { session } = useApp();
  const [logVersion, setLogVersion] = useState(0);
  const changed = () => setLogVersion((v) => v + 1);
  if (session.user.value === undefined) return null;
  if (!session.admin.value) {
    return (
      <div class="page">
        <div class="empty card" data-testid="admin-refused">
          <h1>Admins only</h1>
          <p>This page is for the site's admins.</p>
          <Link href="/">Back to the live streams →</Link>
        </div>
      </div>
    );
  }
  return (
    <div class="page page--wide stack" data-testid="admin-page">
      <h1>Site admin</h1>
      <AdminStreams onChange={changed} />
      <AdminUsers onChange={changed} />
      <AdminSettings onChange={changed} />
      <AdminLog version={logVersion} />
    </div>
  );
}

function AdminStreams({ onChange }: { onChange: () => void }) {
  const [streams, setStreams] = useState<StreamInfo[] | null>(null);
  const [reasons, setReasons] = useState<Record<number, string>>({});
  const [error, setError] = useState<string | null>(null);
  const load = () => restApi.admin.streams().then((b) => setStreams(b.streams), (e: unknown) => setError(message(e)));
  useEffect(() => void load(), []);
  const end = async (s: StreamInfo) => {
    if (!confirm(`End "${s.title}" by ${s.streamer.username} now?`)) return;
    try {
      await restApi.admin.endStream(s.id, reasons[s.id] ?? '');
      onChange();
      await load();
    } catch (e) {
      setError(message(e));
    }
  };
  return (
    <section class="card panel stack" aria-labelledby="admin-streams" data-testid="admin-streams">
      <header class="panel__head">
        <h2 id="admin-streams">Streams now</h2>
        <button type="button" class="btn btn--ghost btn--sm" onClick={() => void load()}>
          Refresh
        </button>
      </header>
      {error ? <p class="field__error" role="alert">{error}</p> : null}
      {streams?.length === 0 ? <p class="muted">No stream is waiting or live.</p> : null}
      <ul class="admin-list">
        {streams?.map((s) => (
          <li class="admin-list__item" key={s.id} data-testid={`admin-stream-${s.id}`}>
            <span>
              <Link href={`/live/${s.id}`}>{s.title}</Link> · {s.streamer.username} · {s.status} · {s.viewers} watching
            </span>
            <input
              class="field__input"
              aria-label={`Reason for ending ${s.title}, shown to its viewers`}
              placeholder="Reason shown to viewers"
              maxLength={200}
              data-testid="admin-end-reason"
              value={reasons[s.id] ?? ''}
              onInput={(e) => setReasons({ ...reasons, [s.id]: e.currentTarget.value })}
            />
            <button type="button" class="btn btn--danger btn--sm" data-testid="admin-end-stream" onClick={() => void end(s)}>
              End stream
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function AdminSettings({ onChange }: { onChange: () => void }) {
  const [settings, setSettings] = useState<SiteSettingsBody | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [invite, setInvite] = useState<string | null>(null);
  useEffect(() => void restApi.admin.settings().then(setSettings, (e: unknown) => setError(message(e))), []);
  const update = async (patch: Partial<SiteSettingsBody>) => {
    try {
      setSettings(await restApi.admin.updateSettings(patch));
      onChange();
    } catch (e) {
      setError(message(e));
    }
  };
  return (
    <section class="card panel stack" aria-labelledby="admin-settings" data-testid="admin-settings">
      <h2 id="admin-settings">Site settings</h2>
      {error ? <p class="field__error" role="alert">{error}</p> : null}
      {settings ? (
        <div class="row">
          <label class="field">
            <span class="field__label">Who may sign up</span>
            <select class="field__input" data-testid="admin-registration" value={settings.registration} onChange={(e) => void update({ registration: e.currentTarget.value as SiteSettingsBody['registration'] })}>
              <option value="open">Anyone</option>
              <option value="invite">With an invite code</option>
              <option value="closed">Nobody (closed)</option>
            </select>
          </label>
          <label class="field">
            <span class="field__label">Who may stream</span>
            <select class="field__input" data-testid="admin-streaming" value={settings.streaming} onChange={(e) => void update({ streaming: e.currentTarget.value as SiteSettingsBody['streaming'] })}>
              <option value="everyone">Every account</option>
              <option value="approved">Approved accounts only</option>
            </select>
          </label>
        </div>
      ) : null}
      <div class="row">
        <button
          type="button"
          class="btn btn--sm"
          data-testid="admin-make-invite"
          onClick={async () => {
            try {
              const made = await restApi.admin.createInvite();
              setInvite(`${made.code} (valid until ${new Date(made.expiresAt).toLocaleString()})`);
              onChange();
            } catch (e) {
              setError(message(e));
            }
          }}
        >
          Make an invite code
        </button>
        {invite ? <code data-testid="admin-invite-code">{invite}</code> : null}
      </div>
    </section>
  );
}

function AdminLog({ version }: { version: number }) {
  const [entries, setEntries] = useState<AdminLogBody['entries']>([]);
  useEffect(() => void restApi.admin.log().then((b) => setEntries(b.entries), () => setEntries([])), [version]);
  return (
    <section class="card panel stack" aria-labelledby="admin-log" data-testid="admin-log">
      <h2 id="admin-log">Audit log</h2>
      {entries.length === 0 ? <p class="muted">Nothing yet.</p> : null}
      <ol class="admin-list">
        {entries.map((e) => (
          <li key={e.id} class="admin-list__item">
            <time dateTime={new Date(e.createdAt).toISOString()}>{new Date(e.createdAt).toLocaleString()}</time> · {e.actor ?? 'CLI'} · {e.action.replaceAll('_', ' ')}
            {e.targetUser ? ` · ${e.targetUser}` : ''}
            {e.targetStreamId ? ` · stream ${e.targetStreamId}` : ''}
            {e.reason ? ` · “${e.reason}”` : ''}
          </li>
        ))}
      </ol>
    </section>
  );
}
