import { useApp } from './app-context.ts';
import { Header } from './components/Header.tsx';
import { AdminPage } from './pages/Admin/AdminPage.tsx';
import { AuthPage } from './pages/Auth/AuthPage.tsx';
import { ChannelPage } from './pages/Channel/ChannelPage.tsx';
import { ResetPasswordPage } from './pages/Auth/ResetPasswordPage.tsx';
import { HomePage } from './pages/Home/HomePage.tsx';
import { StudioPage } from './pages/Studio/StudioPage.tsx';
import { WatchPage } from './pages/Watch/WatchPage.tsx';
import { Link } from './router.tsx';

export function App() {
  const { router } = useApp();
  const route = router.route.value;
  let page;
  switch (route.name) {
    case 'home':
      page = <HomePage />;
      break;
    case 'login':
    case 'signup':
      page = <AuthPage key={route.name} mode={route.name} next={route.next} />;
      break;
    case 'studio':
      page = <StudioPage />;
      break;
    case 'admin':
      page = <AdminPage />;
      break;
    case 'channel':
      page = <ChannelPage key={route.username} username={route.username} />;
      break;
    case 'embed':
      // Framed by other sites: the player and nothing of ours around it.
      return <ChannelPage key={route.username} username={route.username} embed />;
    case 'reset_password':
      page = <ResetPasswordPage />;
      break;
    case 'watch':
      page = <WatchPage key={route.streamId} streamId={route.streamId} />;
      break;
    case 'not_found':
      page = (
        <div class="page">
          <div class="empty card">
            <h1>Page not found</h1>
            <Link href="/">Back to the live streams →</Link>
          </div>
        </div>
      );
      break;
  }
  return (
    <>
      <Header />
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}
