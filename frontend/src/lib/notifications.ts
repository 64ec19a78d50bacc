// Notifications: where each one leads, and a short label per kind. The
// server's `message` is the text people read; the label only tags it.
import type { Notification, NotificationKind } from '../api/types';

export const KIND_LABEL: Record<NotificationKind, string> = {
  expiring_24h: 'Expires within 24 h',
  expiring_1h: 'Expires within the hour',
  expired: 'Expired',
  run_needs_approval: 'Needs approval',
  run_succeeded: 'Run succeeded',
  run_failed: 'Run failed',
  resource_drifted: 'Drifted',
  guardrail_blocked: 'Blocked by a guardrail',
};

export type KindTone = 'red' | 'amber' | 'green' | 'blue';

export const KIND_TONE: Record<NotificationKind, KindTone> = {
  expiring_24h: 'amber',
  expiring_1h: 'amber',
  expired: 'red',
  run_needs_approval: 'blue',
  run_succeeded: 'green',
  run_failed: 'red',
  resource_drifted: 'amber',
  guardrail_blocked: 'red',
};

/** The page a notification opens: its run (on the resource page), its resource, or its project. */
export function notificationLink(n: Pick<Notification, 'resource_id' | 'run_id' | 'project_id'>): {
  to: string;
  state?: { runId: string };
} {
  if (n.resource_id) {
    const to = `/resources/${encodeURIComponent(n.resource_id)}`;
    return n.run_id ? { to, state: { runId: n.run_id } } : { to };
  }
  return { to: `/projects/${encodeURIComponent(n.project_id)}` };
}

/** The list after one notification is read: that item read, the unread count one lower if it was unread. */
export function markedRead<T extends { items: Notification[]; unread: number }>(list: T, id: string): T {
  const wasUnread = list.items.some((n) => n.id === id && !n.read);
  return {
    ...list,
    items: list.items.map((n) => (n.id === id ? { ...n, read: true } : n)),
    unread: Math.max(0, list.unread - (wasUnread ? 1 : 0)),
  };
}

const CHANGED = 'cp:notifications-changed';

/** Tells the bell that notifications were read elsewhere on the page. */
export function notifyNotificationsChanged(): void {
  window.dispatchEvent(new Event(CHANGED));
}

/** Calls `fn` when notifications were read elsewhere; returns the unsubscribe. */
export function onNotificationsChanged(fn: () => void): () => void {
  window.addEventListener(CHANGED, fn);
  return () => window.removeEventListener(CHANGED, fn);
}
