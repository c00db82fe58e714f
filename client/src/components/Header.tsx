import { useState } from 'preact/hooks';
import { useApp } from '../app-context.ts';
import { Link } from '../router.tsx';

export function Header() {
  const { session, router } = useApp();
  const user = session.user.value;
  const route = router.route.value;
  const [busy, setBusy] = useState(false);
  const here = route.name === 'watch' ? `/live/${route.streamId}` : route.name === 'studio' ? '/studio' : '/';

  return (
    <header class="topbar">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <Link href="/" class="brand" aria-label="RED-RED Live, home">
        <span class="brand__mark" aria-hidden="true" />
        <span class="brand__name">
          RED-RED <span>Live</span>
        </span>
      </Link>
      <nav class="topbar__nav" aria-label="Main">
        <Link href="/" class="navlink" aria-current={route.name === 'home' ? 'page' : undefined}>
          Live now
        </Link>
        <Link href="/studio" class="navlink" aria-current={route.name === 'studio' ? 'page' : undefined} data-testid="nav-studio">
          Studio
        </Link>
        {session.admin.value ? (
          <Link href="/admin" class="navlink" aria-current={route.name === 'admin' ? 'page' : undefined} data-testid="nav-admin">
            Admin
          </Link>
        ) : null}
      </nav>
      <div class="topbar__account">
        {user === undefined ? null : user ? (
          <>
            <span class="topbar__user" data-testid="current-user">
              {user.username}
            </span>
            <button
              type="button"
              class="btn btn--ghost btn--sm"
              data-testid="logout"
              disabled={busy}
              onClick={async () => {
                setBusy(true);
                try {
                  await session.logout();
                } finally {
                  setBusy(false);
                }
              }}
            >
              Log out
            </button>
          </>
        ) : (
          <>
            <Link href={`/login?next=${encodeURIComponent(here)}`} class="btn btn--ghost btn--sm" data-testid="nav-login">
              Log in
            </Link>
            <Link href={`/signup?next=${encodeURIComponent(here)}`} class="btn btn--primary btn--sm" data-testid="nav-signup">
              Sign up
            </Link>
          </>
        )}
      </div>
    </header>
  );
}
