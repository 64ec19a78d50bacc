// Small day-two indicators shared by the resource list, detail and dashboard.
import type { DriftStatus } from '../api/types';
import { DRIFT_LABELS } from '../lib/drift';
import { countdownText, expiresSoon } from '../lib/duration';
import { formatDateTime, formatRelative } from '../lib/format';
import { useNow } from '../lib/useNow';

const DRIFT_TONES: Record<DriftStatus, string> = {
  in_sync: 'bg-green-50 text-green-800 ring-green-300',
  drifted: 'bg-amber-50 text-amber-900 ring-amber-400',
  missing: 'bg-red-50 text-red-800 ring-red-300',
  check_failed: 'bg-red-50 text-red-800 ring-red-300',
  never_checked: 'bg-slate-100 text-slate-600 ring-slate-300',
};

/** The drift status pill; with `showChecked`, the time of the last check beside it. */
export function DriftBadge({
  status,
  checkedAt,
  showChecked = false,
  testId,
}: {
  status: DriftStatus;
  checkedAt: string | null;
  showChecked?: boolean;
  testId?: string;
}) {
  const title = checkedAt ? `Last checked ${formatDateTime(checkedAt)}` : 'Not checked yet';
  return (
    <span className="inline-flex flex-wrap items-center gap-1.5">
      <span
        data-testid={testId}
        data-drift={status}
        title={title}
        className={`inline-flex items-center whitespace-nowrap rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${
          DRIFT_TONES[status] ?? DRIFT_TONES.never_checked
        }`}
      >
        {DRIFT_LABELS[status] ?? status}
      </span>
      {showChecked && checkedAt && <span className="text-xs text-slate-500">checked {formatRelative(checkedAt)}</span>}
    </span>
  );
}

/** "expires in 3 h 12 min" (amber within 24 h, red once expired); nothing without an expiry. */
export function ExpiryCountdown({
  expiresAt,
  currentRun,
  testId,
  className = '',
}: {
  expiresAt: string | null;
  currentRun?: { operation: string; status: string } | null;
  testId?: string;
  className?: string;
}) {
  const now = useNow();
  if (!expiresAt) return null;
  const text = countdownText(expiresAt, now, currentRun);
  if (!text) return null;
  const expired = new Date(expiresAt).getTime() <= now;
  const tone = expired ? 'text-red-700' : expiresSoon(expiresAt, now) ? 'text-amber-800' : 'text-slate-600';
  return (
    <span data-testid={testId} title={`Expires ${formatDateTime(expiresAt)}`} className={`text-xs ${tone} ${className}`}>
      {text}
    </span>
  );
}
