import { lazy } from 'react';
import { Navigate, Route, Routes, useLocation } from 'react-router';
import { Layout } from './components/Layout';
import { useAuth } from './lib/authContext';
import { LoginPage } from './pages/LoginPage';
import { SignupPage } from './pages/SignupPage';
import { SignupCompletePage } from './pages/SignupCompletePage';
import { InvitePage } from './pages/InvitePage';
import { DashboardPage } from './pages/DashboardPage';
import { NotFoundPage } from './pages/NotFoundPage';

const ProjectsPage = lazy(() => import('./pages/ProjectsPage').then((m) => ({ default: m.ProjectsPage })));
const ProjectLayout = lazy(() => import('./pages/project/ProjectLayout').then((m) => ({ default: m.ProjectLayout })));
const ProjectSettingsPage = lazy(() => import('./pages/project/ProjectSettingsPage').then((m) => ({ default: m.ProjectSettingsPage })));
const MembersPage = lazy(() => import('./pages/project/MembersPage').then((m) => ({ default: m.MembersPage })));
const AccountsPage = lazy(() => import('./pages/project/AccountsPage').then((m) => ({ default: m.AccountsPage })));
const AuditPage = lazy(() => import('./pages/project/AuditPage').then((m) => ({ default: m.AuditPage })));
const AddAccountPage = lazy(() => import('./pages/AddAccountPage').then((m) => ({ default: m.AddAccountPage })));
const InvitationsPage = lazy(() => import('./pages/InvitationsPage').then((m) => ({ default: m.InvitationsPage })));
const ResourcesPage = lazy(() => import('./pages/ResourcesPage').then((m) => ({ default: m.ResourcesPage })));
const NewResourcePage = lazy(() => import('./pages/NewResourcePage').then((m) => ({ default: m.NewResourcePage })));
const NotificationsPage = lazy(() => import('./pages/NotificationsPage').then((m) => ({ default: m.NotificationsPage })));
const TokensPage = lazy(() => import('./pages/TokensPage').then((m) => ({ default: m.TokensPage })));
const TokensTab = lazy(() => import('./pages/project/TokensTab').then((m) => ({ default: m.TokensTab })));
const WebhooksPage = lazy(() => import('./pages/project/WebhooksPage').then((m) => ({ default: m.WebhooksPage })));
const ResourceDetailPage = lazy(() => import('./pages/ResourceDetailPage').then((m) => ({ default: m.ResourceDetailPage })));

function Restoring() {
  return (
    <p className="p-6 text-sm text-slate-600" role="status" data-testid="restoring">
      Loading…
    </p>
  );
}

function RequireAuth() {
  const { signedIn, restoring } = useAuth();
  const location = useLocation();
  if (restoring) return <Restoring />;
  if (!signedIn) return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  return <Layout />;
}

/** Login and sign-up; once signed in, go where the user was headed (or home). */
function PublicOnly({ children }: { children: React.ReactNode }) {
  const { signedIn, restoring } = useAuth();
  const location = useLocation();
  if (restoring) return <Restoring />;
  if (signedIn) {
    const from = (location.state as { from?: unknown } | null)?.from;
    const to = typeof from === 'string' && from.startsWith('/') && !from.startsWith('//') ? from : '/';
    return <Navigate to={to} replace />;
  }
  return <>{children}</>;
}

export function App() {
  return (
    <Routes>
      <Route
        path="/login"
        element={
          <PublicOnly>
            <LoginPage />
          </PublicOnly>
        }
      />
      <Route
        path="/signup"
        element={
          <PublicOnly>
            <SignupPage />
          </PublicOnly>
        }
      />
      <Route
        path="/signup/complete"
        element={
          <PublicOnly>
            <SignupCompletePage />
          </PublicOnly>
        }
      />
      {/* Signed in or not: the page offers accepting, signing in or signing up. */}
      <Route path="/invite" element={<InvitePage />} />
      <Route element={<RequireAuth />}>
        <Route index element={<DashboardPage />} />
        <Route path="projects" element={<ProjectsPage />} />
        <Route path="projects/:projectId" element={<ProjectLayout />}>
          <Route index element={<ProjectSettingsPage />} />
          <Route path="members" element={<MembersPage />} />
          <Route path="accounts" element={<AccountsPage />} />
          <Route path="audit" element={<AuditPage />} />
          <Route path="webhooks" element={<WebhooksPage />} />
          <Route path="tokens" element={<TokensTab />} />
        </Route>
        <Route path="notifications" element={<NotificationsPage />} />
        <Route path="invitations" element={<InvitationsPage />} />
        <Route path="settings/tokens" element={<TokensPage />} />
        <Route path="accounts/new" element={<AddAccountPage />} />
        <Route path="resources" element={<ResourcesPage />} />
        <Route path="resources/new" element={<NewResourcePage />} />
        <Route path="resources/:resourceId" element={<ResourceDetailPage />} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
