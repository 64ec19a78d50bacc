// A plan for approvers: what each resource's change does to its attributes,
// what the run does to the monthly cost, and how the guardrail checks went.
import type { GuardrailCheck, PlanAttribute, PlanCost, PlanResource, RunStatus } from '../api/types';
import { formatUsd } from './format';

export const MASKED = '(sensitive)';
export const UNKNOWN = '(known after apply)';

/** One side of an attribute change as text: masked, unknown, absent or the value as JSON. */
export function attrSide(a: PlanAttribute, side: 'before' | 'after'): string {
  const v = a[side];
  if (side === 'after' && !a.known) return UNKNOWN;
  if (a.sensitive && v !== null && v !== undefined) return MASKED;
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

export type ActionTone = 'create' | 'update' | 'delete' | 'replace' | 'other';

export function actionTone(action: string): ActionTone {
  return action === 'create' || action === 'update' || action === 'delete' || action === 'replace' ? action : 'other';
}

export const ACTION_LABEL: Record<ActionTone, string> = {
  create: 'create',
  update: 'update in place',
  delete: 'destroy',
  replace: 'replace (destroy, then create)',
  other: '',
};

/** "forced by: name, region" for a replace; "" otherwise. */
export function forcedBy(r: PlanResource): string {
  const paths = r.replace_paths ?? [];
  return r.action === 'replace' && paths.length > 0 ? `forced by: ${paths.join(', ')}` : '';
}

/** "+$12.34/month", "−$5.00/month", "no change". */
export function costDelta(cost: PlanCost): string {
  const d = Math.round(cost.delta_usd * 100) / 100;
  if (d === 0) return 'no change';
  return `${d > 0 ? '+' : '−'}${formatUsd(Math.abs(d))}/month`;
}

export type CheckTone = 'ok' | 'warn' | 'blocked' | 'overridden';

export const CHECK_META: Record<GuardrailCheck['outcome'], { tone: CheckTone; icon: string; label: string }> = {
  passed: { tone: 'ok', icon: '✓', label: 'passed' },
  warned: { tone: 'warn', icon: '!', label: 'warning' },
  blocked: { tone: 'blocked', icon: '✕', label: 'blocked' },
  overridden: { tone: 'overridden', icon: '↷', label: 'overridden' },
};

/** Blocked first, then overridden, warned, passed; otherwise in the order they were made. */
export function sortChecks(items: GuardrailCheck[]): GuardrailCheck[] {
  const rank: Record<GuardrailCheck['outcome'], number> = { blocked: 0, overridden: 1, warned: 2, passed: 3 };
  return items.map((c, i) => ({ c, i })).sort((a, b) => rank[a.c.outcome] - rank[b.c.outcome] || a.i - b.i).map((x) => x.c);
}

/**
 * What a run that is not running says instead of a progress bar: it waits
 * (for a person or a worker), so nothing moves. null while a run works or
 * when it has ended (the bars then say how each address went).
 */
export function waitingLabel(status: RunStatus): string | null {
  switch (status) {
    case 'awaiting_approval':
      return 'waiting for approval';
    case 'queued':
      return 'queued';
    case 'planned':
      return 'planned';
    default:
      return null;
  }
}
