import { Suspense, useState } from 'react';
import { Link, NavLink, Outlet, useLocation } from 'react-router';
import { useAuth } from '../lib/authContext';
import { Loading } from './ui';
import { NotificationBell } from './NotificationBell';

const NAV = [
  { to: '/', label: 'Dashboard', end: true },
  { to: '/projects', label: 'Projects', end: false },
  { to: '/resources', label: 'Resources', end: false },
  { to: '/invitations', label: 'Invitations', end: false },
  { to: '/settings/tokens', label: 'API tokens', end: false },
];

function navClass({ isActive }: { isActive: boolean }) {
  return `block rounded-md px-3 py-2 text-sm font-medium ${
    isActive ? 'bg-blue-50 text-blue-800' : 'text-slate-700 hover:bg-slate-100 hover:text-slate-900'
  }`;
}

export function Layout() {
  const { user, logout } = useAuth();
  const [menuOpen, setMenuOpen] = useState(false);
  const location = useLocation();
  const [lastPath, setLastPath] = useState(location.pathname);
  if (lastPath !== location.pathname) {
    // close the small-screen menu on navigation
    setLastPath(location.pathname);
    setMenuOpen(false);
  }

  return (
    <div className="min-h-screen">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2">
        Skip to content
      </a>
      <header className="sticky top-0 z-30 border-b border-slate-200 bg-white/95 backdrop-blur">
        <div className="mx-auto flex h-14 max-w-7xl items-center gap-3 px-3 sm:px-6">
          <Link to="/" className="flex items-center gap-2 font-semibold text-slate-900" aria-label="cloudplane home">
            <img src="/favicon.svg" alt="" className="h-7 w-7" />
            <span>cloudplane</span>
          </Link>
          <nav aria-label="Main" className="ml-4 hidden items-center gap-1 md:flex">
            {NAV.map((n) => (
              <NavLink key={n.to} to={n.to} end={n.end} className={navClass}>
                {n.label}
              </NavLink>
            ))}
          </nav>
          <div className="ml-auto flex items-center gap-2">
            <NotificationBell />
            <Link to="/resources/new" className="btn btn-primary btn-sm hidden sm:inline-flex">
              New resource
            </Link>
            <span className="hidden max-w-40 truncate text-sm text-slate-600 lg:inline" data-testid="current-user">
              {user?.email}
            </span>
            <button type="button" className="btn btn-ghost btn-sm hidden md:inline-flex" onClick={logout}>
              Log out
            </button>
            <button
              type="button"
              className="btn btn-secondary btn-sm md:hidden"
              aria-expanded={menuOpen}
              aria-controls="mobile-menu"
              onClick={() => setMenuOpen((o) => !o)}
            >
              Menu
            </button>
          </div>
        </div>
        {menuOpen && (
          <nav id="mobile-menu" aria-label="Main" className="border-t border-slate-200 px-3 py-2 md:hidden">
            {NAV.map((n) => (
              <NavLink key={n.to} to={n.to} end={n.end} className={navClass}>
                {n.label}
              </NavLink>
            ))}
            <NavLink to="/resources/new" className={navClass}>
              New resource
            </NavLink>
            <div className="mt-2 flex items-center justify-between border-t border-slate-100 pt-2">
              <span className="truncate text-sm text-slate-600">{user?.email}</span>
              <button type="button" className="btn btn-ghost btn-sm" onClick={logout}>
                Log out
              </button>
            </div>
          </nav>
        )}
      </header>
      <main id="main" className="mx-auto max-w-7xl px-3 py-5 sm:px-6 sm:py-8">
        <Suspense fallback={<Loading />}>
          <Outlet />
        </Suspense>
      </main>
    </div>
  );
}
