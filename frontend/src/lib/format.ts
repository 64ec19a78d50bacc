import type { RunOperation } from '../api/types';

const usd2 = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2 });
const usd4 = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 4 });

export function formatUsd(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return usd2.format(n);
}

/** Prices per hour or per GB have more than two significant decimals. */
export function formatUsdPrecise(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return usd4.format(n);
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleTimeString(undefined, { hour12: false });
}

export function formatRelative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return iso;
  const s = Math.round((now - t) / 1000);
  if (s < 45) return 'just now';
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 36) return `${h} h ago`;
  const d = Math.round(h / 24);
  return `${d} d ago`;
}

export function formatDuration(startIso: string | null | undefined, endIso: string | null | undefined): string {
  if (!startIso) return '—';
  const start = new Date(startIso).getTime();
  const end = endIso ? new Date(endIso).getTime() : Date.now();
  if (Number.isNaN(start) || Number.isNaN(end)) return '—';
  const s = Math.max(0, Math.round((end - start) / 1000));
  if (s < 60) return `${s}s`;
  return `${Math.floor(s / 60)}m ${s % 60}s`;
}

const OPERATION_LABELS: Record<RunOperation, string> = {
  create: 'Create',
  update: 'Update',
  destroy: 'Destroy',
  drift_check: 'Drift check',
};

/** A run's operation as people say it ("Drift check", not drift_check). */
export function operationLabel(op: RunOperation): string {
  return OPERATION_LABELS[op] ?? humanize(op);
}

export function humanize(s: string): string {
  const t = s.replace(/_/g, ' ');
  return t.charAt(0).toUpperCase() + t.slice(1);
}

const CLOUD_LABELS: Record<string, string> = {
  aws: 'AWS',
  azure: 'Azure',
  gcp: 'Google Cloud',
  sandbox: 'Sandbox',
};

export function cloudLabel(id: string): string {
  return CLOUD_LABELS[id] ?? id;
}

const CLOUD_COLORS: Record<string, string> = {
  aws: '#d97706',
  azure: '#2563eb',
  gcp: '#16a34a',
  sandbox: '#7c3aed',
};

export function cloudColor(id: string): string {
  return CLOUD_COLORS[id] ?? '#64748b';
}

export function cloudOptionLabel(id: string, name?: string): string {
  if (id === 'sandbox') return 'Sandbox (simulated cloud)';
  return name ?? cloudLabel(id);
}
