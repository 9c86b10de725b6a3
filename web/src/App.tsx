/**
 * The app shell: the route table, the guard (anonymous visitors go to the login page, signed-in
 * ones away from it) and the navigation with the user, the workspace and log-out.
 */
import { lazy, Suspense, useEffect, useState, type ComponentType, type ReactNode } from 'react';
import type { QueryClient } from '@tanstack/react-query';
import { Link, matchPath, navigate, safeNextPath, useLocation } from './router';
import { useMe, useSession } from './session';
import type { Role } from './api';
import { InvitePage, LoginPage, SignUpPage } from './pages/Auth';
import { ContactsPage } from './pages/Contacts';
import { ContactPage } from './pages/Contact';
import { CampaignsPage } from './pages/Campaigns';
import { InboxPage } from './pages/Inbox';
import { SettingsPage } from './pages/Settings';
import { EmailPage, TemplatePage } from './pages/Email';
import { MessagePage, MessagesPage } from './pages/Messages';
import { ImportPage } from './pages/Import';
import { SegmentPage, SegmentsPage } from './pages/Segments';
import { AiPage } from './pages/Ai';
import { GuardianHealthPage } from './pages/guardian/Health';
import { GuardianAlertPage, GuardianAlertsPage } from './pages/guardian/Alerts';
import { GuardianRulePage, GuardianRulesPage } from './pages/guardian/Rules';
import { GuardianChannelsPage } from './pages/guardian/Channels';
import { GuardianDeliveryLogPage } from './pages/guardian/DeliveryLog';
import { NotificationBell } from './NotificationBell';
import { campaignQuery } from './campaigns/campaign-query';
import { Alert, Spinner } from './ui';

/**
 * A page whose code loads when first opened (React.lazy), or at once when preloaded: once its code
 * is in, the page renders directly instead of passing through the Suspense fallback, which React
 * keeps on screen for at least 300 ms.
 */
function lazyPage<P extends object>(load: () => Promise<ComponentType<P>>): { Page: ComponentType<P>; preload: () => Promise<ComponentType<P>> } {
  let loaded: ComponentType<P> | undefined;
  let loading: Promise<ComponentType<P>> | undefined;
  const preload = () => (loading ??= load().then((component) => (loaded = component)));
  const Lazy = lazy(() => preload().then((component) => ({ default: component })));
  function Page(props: P) {
    const [Component] = useState<ComponentType<P>>(() => loaded ?? Lazy);
    return <Component {...props} />;
  }
  return { Page, preload };
}

// The graph view pulls in React Flow; load it only when a campaign is opened.
const { Page: CampaignPage, preload: preloadCampaignPage } = lazyPage(() => import('./pages/Campaign').then((module) => module.CampaignPage));
// The reports bring Recharts; they load when opened, not with the first chunk.
const DashboardPage = lazy(() => import('./pages/Dashboard').then((module) => ({ default: module.DashboardPage })));
const CampaignReportPage = lazy(() => import('./pages/CampaignReport').then((module) => ({ default: module.CampaignReportPage })));

/**
 * When the app opens on a campaign's builder, its code and the campaign are fetched at once, while
 * the session is still being checked, instead of one after the other once the page renders.
 */
export function preloadRoute(queryClient: QueryClient, pathname: string): void {
  const params = matchPath('/campaigns/:id', pathname);
  if (!params?.id) return;
  void preloadCampaignPage();
  void queryClient.prefetchQuery(campaignQuery(params.id));
}

const PUBLIC_PATHS = new Set(['/login', '/signup']);
// Open to visitors and signed-in users alike: an invitation is accepted either way.
const INVITE_PATH = '/invite';

const NAV: Array<{ to: string; label: string; permission: string }> = [
  { to: '/dashboard', label: 'Dashboard', permission: 'campaigns:read' },
  { to: '/contacts', label: 'Contacts', permission: 'contacts:read' },
  { to: '/segments', label: 'Segments', permission: 'segments:read' },
  { to: '/campaigns', label: 'Campaigns', permission: 'campaigns:read' },
  { to: '/email', label: 'Email', permission: 'templates:read' },
  { to: '/inbox', label: 'Inbox', permission: 'messages:read' },
  { to: '/ai', label: 'AI', permission: 'ai:read' },
  { to: '/guardian', label: 'Guardian', permission: 'guardian:read' },
  { to: '/settings', label: 'Settings', permission: 'members:read' },
];

function routeFor(pathname: string, role: Role, permissions: readonly string[]): ReactNode {
  let params: Record<string, string> | null;
  // The landing page: the dashboard for whoever may read campaigns' numbers, else the contacts.
  if (pathname === '/' || pathname === '/dashboard') return permissions.includes('campaigns:read') ? <DashboardPage /> : <ContactsPage />;
  if (pathname === '/contacts') return <ContactsPage />;
  if (pathname === '/contacts/import') return <ImportPage />;
  if ((params = matchPath('/contacts/:id', pathname))) return <ContactPage key={params.id} contactId={params.id!} />;
  if (pathname === '/segments') return <SegmentsPage />;
  if ((params = matchPath('/segments/:id', pathname))) return <SegmentPage key={params.id} segmentId={params.id!} />;
  if (pathname === '/campaigns') return <CampaignsPage />;
  if ((params = matchPath('/campaigns/:id/report', pathname))) return <CampaignReportPage key={params.id} campaignId={params.id!} />;
  if ((params = matchPath('/campaigns/:id', pathname))) return <CampaignPage key={params.id} campaignId={params.id!} />;
  if (pathname === '/email' || pathname === '/email/templates') return <EmailPage tab="templates" />;
  if ((params = matchPath('/email/templates/:id', pathname))) return <TemplatePage key={params.id} templateId={params.id!} />;
  if (pathname === '/email/messages') return <MessagesPage />;
  if ((params = matchPath('/email/messages/:id', pathname))) return <MessagePage key={params.id} messageId={params.id!} />;
  if (pathname === '/email/providers') return <EmailPage tab="providers" />;
  if (pathname === '/email/suppressions') return <EmailPage tab="suppressions" />;
  if (pathname === '/inbox') return <InboxPage messageId={undefined} />;
  if ((params = matchPath('/inbox/:id', pathname))) return <InboxPage messageId={params.id!} />;
  if (pathname === '/ai') return <AiPage />;
  if (pathname === '/guardian') return <GuardianHealthPage />;
  if (pathname === '/guardian/alerts') return <GuardianAlertsPage />;
  if ((params = matchPath('/guardian/alerts/:id', pathname))) return <GuardianAlertPage key={params.id} alertId={params.id!} />;
  if (pathname === '/guardian/rules') return <GuardianRulesPage />;
  if (pathname === '/guardian/rules/new') return <GuardianRulePage key="new" ruleId={undefined} />;
  if ((params = matchPath('/guardian/rules/:id', pathname))) return <GuardianRulePage key={params.id} ruleId={params.id!} />;
  if (pathname === '/settings') return <SettingsPage />;
  if (pathname === '/guardian/channels') return <GuardianChannelsPage role={role} />;
  if (pathname === '/guardian/deliveries') return <GuardianDeliveryLogPage />;
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        Nothing lives at <code>{pathname}</code>. <Link to="/contacts">Go to contacts</Link>.
      </p>
    </section>
  );
}

function Shell() {
  const me = useMe();
  const { logOut } = useSession();
  const { pathname } = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  useEffect(() => setMenuOpen(false), [pathname]);

  const displayName = me.user?.name ?? 'API key';
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/dashboard" className="brand">
          <span className="brand-mark" aria-hidden="true">
            U
          </span>{' '}
          Unite Hub
        </Link>
        <button type="button" className="button ghost menu-toggle" aria-expanded={menuOpen} aria-controls="main-nav" onClick={() => setMenuOpen((open) => !open)}>
          Menu
        </button>
        <nav id="main-nav" aria-label="Main" className={menuOpen ? 'open' : undefined}>
          <ul>
            {NAV.filter((item) => me.permissions.includes(item.permission)).map((item) => {
              const active = pathname === item.to || pathname.startsWith(`${item.to}/`) || (item.to === '/dashboard' && pathname === '/');
              return (
                <li key={item.to}>
                  <Link to={item.to} aria-current={active ? 'page' : undefined}>
                    {item.label}
                  </Link>
                </li>
              );
            })}
          </ul>
          <div className="account">
            {me.permissions.includes('guardian:read') ? <NotificationBell canMarkRead={me.user !== null && me.role !== 'viewer'} /> : null}
            <div className="account-text">
              <span className="account-name" data-testid="current-user">
                {displayName}
              </span>
              <span className="account-workspace" data-testid="current-workspace">
                {me.workspace.name} · {me.role}
              </span>
            </div>
            <button type="button" className="button ghost" onClick={() => void logOut()}>
              Log out
            </button>
          </div>
        </nav>
      </header>
      <main id="main" className="content">
        <Suspense fallback={<Spinner />}>{routeFor(pathname, me.role, me.permissions)}</Suspense>
      </main>
    </div>
  );
}

export function App() {
  const { state, refresh } = useSession();
  const { pathname, href, search } = useLocation();
  const next = search.get('next');
  const isPublic = PUBLIC_PATHS.has(pathname);

  useEffect(() => {
    if (pathname === INVITE_PATH) return;
    if (state.status === 'anonymous' && !isPublic) {
      navigate(pathname === '/' ? '/login' : `/login?next=${encodeURIComponent(href)}`, { replace: true });
    }
    if (state.status === 'signed-in' && isPublic) navigate(safeNextPath(next, '/dashboard'), { replace: true });
  }, [state.status, isPublic, pathname, href, next]);

  if (state.status === 'loading') return <Spinner />;
  if (pathname === INVITE_PATH && state.status !== 'error') return <InvitePage />;
  if (state.status === 'error') {
    return (
      <main className="auth-page">
        <div className="auth-card stack">
          <Alert>Unite Hub could not load your session: {state.message}</Alert>
          <button type="button" className="button" onClick={() => void refresh()}>
            Retry
          </button>
        </div>
      </main>
    );
  }
  if (state.status === 'anonymous') {
    if (pathname === '/signup') return <SignUpPage />;
    if (pathname === '/login') return <LoginPage />;
    return <Spinner />;
  }
  if (isPublic) return <Spinner />;
  return <Shell />;
}
