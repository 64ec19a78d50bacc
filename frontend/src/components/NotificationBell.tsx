import { useEffect, useRef, useState } from 'react';
import { Link } from 'react-router';
import { api } from '../api/endpoints';
import { errorMessage } from '../api/client';
import { useAsync } from '../lib/useAsync';
import { markedRead, onNotificationsChanged } from '../lib/notifications';
import { NotificationItem } from './NotificationItem';

const POLL_MS = 60_000;

/** The bell in the header: unread count, the latest notifications with "mark read", and a link to them all. */
export function NotificationBell() {
  const list = useAsync(() => api.notifications(20), 'notifications');
  const [open, setOpen] = useState(false);
  const [error, setError] = useState('');
  const boxRef = useRef<HTMLDivElement>(null);
  const reload = list.reload;

  useEffect(() => {
    const t = window.setInterval(reload, POLL_MS);
    const off = onNotificationsChanged(reload);
    return () => {
      window.clearInterval(t);
      off();
    };
  }, [reload]);

  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent) => {
      if (boxRef.current && !boxRef.current.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') setOpen(false);
    };
    document.addEventListener('mousedown', onDown);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('mousedown', onDown);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);

  // A server without notifications (404) shows no bell.
  if (!list.data && list.error?.status === 404) return null;
  const unread = list.data?.unread ?? 0;
  const items = list.data?.items ?? [];

  const markRead = async (id: string) => {
    setError('');
    try {
      await api.markNotificationRead(id);
      list.setData((prev) => prev && markedRead(prev, id));
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  return (
    <div className="relative" ref={boxRef}>
      <button
        type="button"
        className="btn btn-ghost btn-sm relative"
        aria-expanded={open}
        aria-controls="notifications"
        aria-label={unread > 0 ? `Notifications, ${unread} unread` : 'Notifications'}
        data-testid="notification-bell"
        onClick={() => setOpen((o) => !o)}
      >
        <svg aria-hidden="true" viewBox="0 0 20 20" className="h-5 w-5" fill="currentColor">
          <path d="M10 2a6 6 0 0 0-6 6v2.6l-1.3 2.6A1 1 0 0 0 3.6 15h12.8a1 1 0 0 0 .9-1.4L16 10.6V8a6 6 0 0 0-6-6Zm0 17a2.5 2.5 0 0 1-2.45-2h4.9A2.5 2.5 0 0 1 10 19Z" />
        </svg>
        {unread > 0 && (
          <span data-testid="notification-unread" className="absolute -right-1 -top-1 min-w-4 rounded-full bg-red-600 px-1 text-center text-[10px] font-semibold leading-4 text-white">
            {unread > 99 ? '99+' : unread}
          </span>
        )}
      </button>
      {open && (
        <div
          id="notifications"
          role="region"
          aria-label="Notifications"
          className="absolute right-0 z-40 mt-2 w-80 max-w-[calc(100vw-1.5rem)] overflow-hidden rounded-lg border border-slate-200 bg-white shadow-lg"
        >
          <p className="border-b border-slate-100 px-3 py-2 text-sm font-semibold">Notifications</p>
          {error && <p className="px-3 py-2 text-sm text-red-700">{error}</p>}
          {list.error && !list.data && <p className="px-3 py-2 text-sm text-red-700">{list.error.message}</p>}
          {items.length === 0 && !list.error ? (
            <p className="px-3 py-4 text-sm text-slate-600">Nothing new.</p>
          ) : (
            <ul className="max-h-96 divide-y divide-slate-100 overflow-auto">
              {items.map((n) => (
                <NotificationItem key={n.id} n={n} onRead={(id) => void markRead(id)} onOpen={() => setOpen(false)} />
              ))}
            </ul>
          )}
          <p className="border-t border-slate-100 px-3 py-2 text-right text-sm">
            <Link to="/notifications" className="link" onClick={() => setOpen(false)}>
              All notifications
            </Link>
          </p>
        </div>
      )}
    </div>
  );
}
