import { Link } from 'react-router';
import type { Notification } from '../api/types';
import { formatDateTime, formatRelative } from '../lib/format';
import { KIND_LABEL, KIND_TONE, notificationLink } from '../lib/notifications';

const TONES = {
  red: 'bg-red-100 text-red-800',
  amber: 'bg-amber-100 text-amber-900',
  green: 'bg-green-100 text-green-800',
  blue: 'bg-blue-100 text-blue-800',
} as const;

/** One notification: its kind, the server's message linking to the run, resource or project, and "Mark read". */
export function NotificationItem({
  n,
  onRead,
  onOpen,
  busy = false,
}: {
  n: Notification;
  onRead: (id: string) => void;
  onOpen?: () => void;
  busy?: boolean;
}) {
  const link = notificationLink(n);
  return (
    <li
      className={`px-3 py-2 text-sm ${n.read ? 'text-slate-600' : 'bg-blue-50/50 text-slate-900'}`}
      data-testid="notification"
      data-kind={n.kind}
      data-read={n.read ? 'true' : 'false'}
    >
      <div className="flex items-start justify-between gap-2">
        <div className="min-w-0">
          <span className={`mr-1.5 inline-block rounded px-1.5 py-0.5 text-xs font-medium ${TONES[KIND_TONE[n.kind] ?? 'blue']}`}>
            {KIND_LABEL[n.kind] ?? n.kind}
          </span>{' '}
          <Link to={link.to} state={link.state} className="link break-words" onClick={onOpen} data-testid="notification-link">
            {n.message || n.resource_name || 'Open'}
          </Link>
          <span className="block text-xs text-slate-500" title={formatDateTime(n.created_at)}>
            {n.expires_at && <>expiry {formatDateTime(n.expires_at)} · </>}
            {formatRelative(n.created_at)}
          </span>
        </div>
        {!n.read && (
          <button type="button" className="btn btn-ghost btn-sm shrink-0" disabled={busy} onClick={() => onRead(n.id)}>
            Mark read
          </button>
        )}
      </div>
    </li>
  );
}
