import { useState } from 'react';
import { api } from '../api/endpoints';
import { errorMessage } from '../api/client';
import { useAsync } from '../lib/useAsync';
import { markedRead, notifyNotificationsChanged } from '../lib/notifications';
import { NotificationItem } from '../components/NotificationItem';
import { EmptyState, ErrorAlert, Loading, PageHeader } from '../components/ui';

const PAGE = 50;

/** My notifications, newest first, a page at a time ("Show older"), each with "Mark read". */
export function NotificationsPage() {
  const list = useAsync(() => api.notifications(PAGE), 'notifications-page');
  const [onlyUnread, setOnlyUnread] = useState(false);
  const [busy, setBusy] = useState<string | null>(null);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [error, setError] = useState('');

  const showOlder = async (cursor: string) => {
    setLoadingOlder(true);
    setError('');
    try {
      const older = await api.notifications(PAGE, cursor);
      // The unread count is the newest reply's: it counts them all.
      list.setData((prev) => prev && { ...older, items: [...prev.items, ...older.items] });
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setLoadingOlder(false);
    }
  };

  const markRead = async (id: string) => {
    setBusy(id);
    setError('');
    try {
      await api.markNotificationRead(id);
      list.setData((prev) => prev && markedRead(prev, id));
      notifyNotificationsChanged();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(null);
    }
  };

  if (list.loading && !list.data) return <Loading />;
  const items = (list.data?.items ?? []).filter((n) => !onlyUnread || !n.read);
  const unread = list.data?.unread ?? 0;

  return (
    <div>
      <PageHeader
        title="Notifications"
        subtitle={<span data-testid="notifications-unread">{unread === 0 ? 'All read' : `${unread} unread`}</span>}
        actions={
          <label className="flex items-center gap-2 text-sm text-slate-700">
            <input type="checkbox" checked={onlyUnread} onChange={(e) => setOnlyUnread(e.target.checked)} />
            Unread only
          </label>
        }
      />
      <ErrorAlert error={list.error} onRetry={list.reload} />
      <ErrorAlert error={error} />
      {list.data && items.length === 0 ? (
        <EmptyState title={onlyUnread ? 'Nothing unread' : 'No notifications yet'} testId="notifications-empty">
          Runs that need approval, succeed or fail, drift, expiry reminders and guardrail blocks show up here.
        </EmptyState>
      ) : (
        <ul className="card divide-y divide-slate-100 p-0 sm:p-0" data-testid="notifications-list">
          {items.map((n) => (
            <NotificationItem key={n.id} n={n} busy={busy === n.id} onRead={(id) => void markRead(id)} />
          ))}
        </ul>
      )}
      {list.data?.next_cursor && (
        <button
          type="button"
          className="btn btn-secondary btn-sm mt-3"
          disabled={loadingOlder}
          onClick={() => void showOlder(list.data!.next_cursor!)}
          data-testid="notifications-older"
        >
          {loadingOlder ? 'Loading…' : 'Show older'}
        </button>
      )}
    </div>
  );
}
