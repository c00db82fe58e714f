import { useState } from 'preact/hooks';
import { Field } from '../../components/Field.tsx';
import { useDocumentTitle } from '../../lib/hooks.ts';
import { restApi } from '../../net/api.ts';
import { Link } from '../../router.tsx';

/** The page behind an admin's reset link: the token is in the fragment, so it never reaches a server log. */
export function ResetPasswordPage() {
  useDocumentTitle('Choose a new password');
  const token = new URLSearchParams(window.location.hash.slice(1)).get('token') ?? '';
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  if (done) {
    return (
      <div class="page">
        <div class="empty card" data-testid="reset-done">
          <h1>Password changed</h1>
          <Link href="/login">Log in with it →</Link>
        </div>
      </div>
    );
  }
  return (
    <div class="page">
      <form
        class="card stack"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          try {
            await restApi.resetPassword(token, password);
            setDone(true);
          } catch (err) {
            setError(err instanceof Error ? err.message : 'the server refused');
          } finally {
            setBusy(false);
          }
        }}
      >
        <h1>Choose a new password</h1>
        <Field label="New password" name="password" type="password" autoComplete="new-password" value={password} error={error} onInput={(e) => setPassword(e.currentTarget.value)} />
        <button type="submit" class="btn btn--primary" disabled={busy || !token}>
          Set password
        </button>
      </form>
    </div>
  );
}
