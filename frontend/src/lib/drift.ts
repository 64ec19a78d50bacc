// Drift reports for display: labels, and before/after values flattened so
// that a change deep in a nested value shows as its own line.
import type { DriftAttribute, DriftStatus } from '../api/types';

export const DRIFT_LABELS: Record<DriftStatus, string> = {
  in_sync: 'In sync',
  drifted: 'Drifted',
  missing: 'Missing',
  check_failed: 'Check failed',
  never_checked: 'Never checked',
};

export const DRIFT_INTERVALS = [
  { minutes: 0, label: 'Off' },
  { minutes: 60, label: 'Hourly' },
  { minutes: 360, label: 'Every 6 hours' },
  { minutes: 1440, label: 'Daily' },
] as const;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A value as JSON for the diff: strings quoted, objects indented, absence said. */
export function formatJson(v: unknown): string {
  if (v === undefined) return '(absent)';
  if (typeof v === 'object' && v !== null) return JSON.stringify(v, null, 2);
  return JSON.stringify(v);
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The differing leaves of one drifted attribute: two objects are compared key
 * by key (paths joined with "."), anything else (lists, scalars, a type
 * change) is one line with both whole values.
 */
export function leafChanges(attr: DriftAttribute): DriftAttribute[] {
  const out: DriftAttribute[] = [];
  const walk = (path: string, before: unknown, after: unknown) => {
    if (isPlainObject(before) && isPlainObject(after)) {
      const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
      for (const k of keys) walk(path ? `${path}.${k}` : k, before[k], after[k]);
      return;
    }
    if (!same(before, after)) out.push({ path, before, after });
  };
  walk(attr.path, attr.before, attr.after);
  // A report may list an attribute whose values compare equal after redaction: keep it visible.
  return out.length > 0 ? out : [attr];
}
