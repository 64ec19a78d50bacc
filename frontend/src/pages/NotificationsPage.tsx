import { useState } from 'react';
import { api } from '../api/endpoints';
import { errorMessage } from '../api/client';
import { useAsync } from '../lib/useAsync';
import { markedRead, notifyNotificationsChanged } from '../lib/notifications';
import { NotificationItem } from '../components/NotificationItem';
import { EmptyState, ErrorAlert, Loading, PageHeader } from '../components/ui';

const LIMIT = 200; // the API's maximum; older ones are not listed

/** Every notification of mine (the newest 200), unread first when filtered, each with "Mark read". */
export function NotificationsPage() {
  const list = useAsync(() => api.notifications(LIMIT), 'notifications-page');
  const [onlyUnread, setOnlyUnread] = useState(false);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState('');

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
    </div>
  );
}
