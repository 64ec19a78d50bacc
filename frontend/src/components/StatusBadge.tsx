import type { ResourceStatus, RunStatus } from '../api/types';
import { humanize } from '../lib/format';

const RESOURCE_TONES: Record<ResourceStatus, string> = {
  pending: 'bg-slate-100 text-slate-800 ring-slate-300',
  provisioning: 'bg-blue-50 text-blue-800 ring-blue-300',
  active: 'bg-green-50 text-green-800 ring-green-300',
  updating: 'bg-blue-50 text-blue-800 ring-blue-300',
  destroying: 'bg-amber-50 text-amber-900 ring-amber-300',
  destroyed: 'bg-slate-100 text-slate-600 ring-slate-300',
  failed: 'bg-red-50 text-red-800 ring-red-300',
};

const RUN_TONES: Record<RunStatus, string> = {
  queued: 'bg-slate-100 text-slate-800 ring-slate-300',
  planning: 'bg-blue-50 text-blue-800 ring-blue-300',
  planned: 'bg-blue-50 text-blue-800 ring-blue-300',
  awaiting_approval: 'bg-amber-50 text-amber-900 ring-amber-300',
  applying: 'bg-blue-50 text-blue-800 ring-blue-300',
  succeeded: 'bg-green-50 text-green-800 ring-green-300',
  failed: 'bg-red-50 text-red-800 ring-red-300',
  canceled: 'bg-slate-100 text-slate-600 ring-slate-300',
};

const BUSY = new Set<string>(['provisioning', 'updating', 'destroying', 'planning', 'applying']);

function Badge({ tone, label, busy, testId, value }: { tone: string; label: string; busy: boolean; testId?: string; value: string }) {
  return (
    <span
      data-testid={testId}
      data-status={value}
      className={`inline-flex items-center gap-1.5 whitespace-nowrap rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${tone}`}
    >
      {busy && <span aria-hidden="true" className="h-1.5 w-1.5 animate-pulse rounded-full bg-current" />}
      {label}
    </span>
  );
}

export function ResourceStatusBadge({ status, testId }: { status: ResourceStatus; testId?: string }) {
  return (
    <Badge
      tone={RESOURCE_TONES[status] ?? RESOURCE_TONES.pending}
      label={humanize(status)}
      busy={BUSY.has(status)}
      testId={testId}
      value={status}
    />
  );
}

export function RunStatusBadge({ status, testId }: { status: RunStatus; testId?: string }) {
  return (
    <Badge
      tone={RUN_TONES[status] ?? RUN_TONES.queued}
      label={status === 'awaiting_approval' ? 'Awaiting approval' : humanize(status)}
      busy={BUSY.has(status)}
      testId={testId}
      value={status}
    />
  );
}
