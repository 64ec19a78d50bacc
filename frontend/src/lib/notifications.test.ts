import { describe, expect, it } from 'vitest';
import type { Notification } from '../api/types';
import { KIND_LABEL, markedRead, notificationLink } from './notifications';

const n = (over: Partial<Notification>): Notification => ({
  id: 'n1',
  kind: 'run_failed',
  resource_id: 'r1',
  resource_name: 'web-1',
  project_id: 'p1',
  run_id: 'run1',
  expires_at: null,
  message: 'The create run of web-1 failed',
  created_at: '2026-11-30T08:00:00Z',
  read: false,
  ...over,
});

describe('notifications', () => {
  it('links a run to its resource page showing that run, a resource to its page, and else the project', () => {
    expect(notificationLink(n({}))).toEqual({ to: '/resources/r1', state: { runId: 'run1' } });
    expect(notificationLink(n({ kind: 'resource_drifted', run_id: null }))).toEqual({ to: '/resources/r1' });
    expect(notificationLink(n({ kind: 'guardrail_blocked', resource_id: null, run_id: null }))).toEqual({ to: '/projects/p1' });
  });

  it('has a label for every kind of the spec', () => {
    for (const k of ['expiring_24h', 'expiring_1h', 'expired', 'run_needs_approval', 'run_succeeded', 'run_failed', 'resource_drifted', 'guardrail_blocked'] as const) {
      expect(KIND_LABEL[k]).toBeTruthy();
    }
  });

  it('marks one read and lowers the unread count once', () => {
    const list = { items: [n({ id: 'a' }), n({ id: 'b', read: true })], unread: 5 };
    const once = markedRead(list, 'a');
    expect(once.items.map((x) => x.read)).toEqual([true, true]);
    expect(once.unread).toBe(4);
    expect(markedRead(once, 'a').unread).toBe(4);
    expect(markedRead(list, 'b').unread).toBe(5);
  });
});
