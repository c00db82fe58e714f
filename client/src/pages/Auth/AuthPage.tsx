import { useEffect, useState } from 'preact/hooks';
import { LIMITS } from '@redred/api/protocol/constants';
import type { ErrorCode } from '@redred/api/protocol';
import { useApp } from '../../app-context.ts';
import { ApiError, restApi } from '../../net/api.ts';
import { Field } from '../../components/Field.tsx';
import { useDocumentTitle } from '../../lib/hooks.ts';
import { Link } from '../../router.tsx';

type FieldName = 'username' | 'password' | 'invite';

/** Which field a server refusal is about, so the message sits next to it. */
const FIELD_OF: Partial<Record<ErrorCode, FieldName>> = {
  invalid_username: 'username',
  username_taken: 'username',
  invalid_password: 'password',
  invalid_credentials: 'password',
  invite_required: 'invite',
  invalid_invite: 'invite',
};

export function AuthPage({ mode, next }: { mode: 'login' | 'signup'; next: string }) {
  const { session, router } = useApp();
  const signup = mode === 'signup';
  useDocumentTitle(signup ? 'Sign up' : 'Log in');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<Partial<Record<FieldName | 'form', string>>>({});
  const [busy, setBusy] = useState(false);
  const [invite, setInvite] = useState('');
  const [registration, setRegistration] = useState<'open' | 'invite' | 'closed'>('open');
  useEffect(() => {
    if (signup) restApi.site().then((s) => setRegistration(s.registration), () => undefined);
  }, [signup]);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    try {
      if (signup) await session.register({ username, password, ...(invite.trim() ? { inviteCode: invite.trim() } : {}) });
      else await session.login({ username, password });
      router.navigate(next, { replace: true });
    } catch (err) {
      if (err instanceof ApiError) {
        const field = FIELD_OF[err.code] ?? 'form';
        const message = err.code === 'rate_limited' && err.retryAfterSeconds ? `${err.message} (in ${err.retryAfterSeconds} s)` : err.message;
        setErrors({ [field]: message });
      } else {
        setErrors({ form: 'something went wrong; try again' });
      }
    } finally {
      setBusy(false);
    }
  };

  const other = signup ? `/login?next=${encodeURIComponent(next)}` : `/signup?next=${encodeURIComponent(next)}`;

  return (
    <div class="page auth">
      <form class="card auth__card stack" onSubmit={submit} noValidate data-testid={`${mode}-form`}>
        <h1 class="auth__title">{signup ? 'Create your account' : 'Welcome back'}</h1>
        <Field
          label="Username"
          name="username"
          autocomplete="username"
          autoCapitalize="none"
          spellcheck={false}
          value={username}
          error={errors.username}
          hint={signup ? `${LIMITS.usernameMin}–${LIMITS.usernameMax} letters, digits, "_", "." or "-"` : undefined}
          onInput={(e) => setUsername(e.currentTarget.value)}
          required
        />
        <Field
          label="Password"
          name="password"
          type="password"
          autocomplete={signup ? 'new-password' : 'current-password'}
          value={password}
          error={errors.password}
          hint={signup ? `At least ${LIMITS.passwordMin} characters` : undefined}
          onInput={(e) => setPassword(e.currentTarget.value)}
          required
        />
        {signup && registration === 'invite' ? (
          <Field label="Invite code" name="invite" autoCapitalize="none" spellcheck={false} value={invite} error={errors.invite} hint="Sign-ups on this site need a code from an admin" onInput={(e) => setInvite(e.currentTarget.value)} required />
        ) : null}
        {signup && registration === 'closed' ? (
          <p class="muted" data-testid="registration-closed">
            Sign-ups are closed on this site.
          </p>
        ) : null}
        {errors.form ? (
          <p class="field__error" role="alert" data-testid="form-error">
            {errors.form}
          </p>
        ) : null}
        <button type="submit" class="btn btn--primary btn--block" disabled={busy} data-testid="auth-submit">
          {busy ? 'Please wait…' : signup ? 'Sign up' : 'Log in'}
        </button>
        <p class="muted auth__switch">
          {signup ? 'Already have an account? ' : 'New here? '}
          <Link href={other}>{signup ? 'Log in' : 'Create an account'}</Link>
        </p>
      </form>
    </div>
  );
}
