import { useState } from 'react';
import { api } from '../../api/endpoints';
import { errorMessage } from '../../api/client';
import type { DriftChange, Resource, ResourceAndRun, Run } from '../../api/types';
import { useAsync } from '../../lib/useAsync';
import { formatJson, leafChanges } from '../../lib/drift';
import { formatDateTime } from '../../lib/format';
import { DriftBadge } from '../../components/DayTwoBadges';
import { ErrorAlert, Loading } from '../../components/ui';

type Action = 'check' | 'reconcile' | 'accept';

function Value({ v, tone }: { v: unknown; tone: string }) {
  return <pre className={`max-h-48 overflow-auto whitespace-pre-wrap break-all rounded px-2 py-1 font-mono text-xs ${tone}`}>{formatJson(v)}</pre>;
}

function ChangeView({ change }: { change: DriftChange }) {
  return (
    <li className="rounded-md border border-slate-200" data-testid={`drift-change-${change.address}`}>
      <div className="flex flex-wrap items-baseline justify-between gap-2 border-b border-slate-100 bg-slate-50 px-3 py-2">
        <code className="break-all text-xs font-semibold text-slate-900">{change.address}</code>
        <span className="text-xs text-slate-600">{change.action === 'delete' ? 'gone from the cloud' : 'changed in the cloud'}</span>
      </div>
      {change.attributes.length > 0 && (
        <div className="overflow-x-auto">
          <table className="table-base">
            <thead>
              <tr>
                <th scope="col">Attribute</th>
                <th scope="col">Recorded</th>
                <th scope="col">In the cloud now</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {change.attributes.flatMap(leafChanges).map((a) => (
                <tr key={a.path} data-testid={`drift-attr-${a.path}`}>
                  <td className="whitespace-nowrap font-mono text-xs">{a.path}</td>
                  <td data-testid="drift-before">
                    <Value v={a.before} tone="bg-red-50 text-red-900" />
                  </td>
                  <td data-testid="drift-after">
                    <Value v={a.after} tone="bg-green-50 text-green-900" />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </li>
  );
}

/**
 * Drift on the resource detail: the status, "Check now", the last check's
 * before/after per attribute, and the two remedies. Each action starts a run,
 * which the page then shows like any other.
 */
export function DriftPanel({
  resource,
  canAct,
  busy,
  onRunStarted,
}: {
  resource: Resource;
  canAct: boolean;
  busy: boolean;
  onRunStarted: (run: Run, r: Resource) => void;
}) {
  const checked = resource.drift_status !== 'never_checked';
  const report = useAsync(() => api.drift(resource.id), `drift:${resource.id}:${resource.drift_status}:${resource.drift_checked_at}`, checked);
  const [action, setAction] = useState<Action | null>(null);
  const [error, setError] = useState('');

  const start = async (a: Action) => {
    setAction(a);
    setError('');
    try {
      const call: Record<Action, (id: string) => Promise<ResourceAndRun>> = {
        check: api.driftCheck,
        reconcile: api.reconcileDrift,
        accept: api.acceptDrift,
      };
      const r = await call[a](resource.id);
      onRunStarted(r.run, r.resource);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setAction(null);
    }
  };

  const live = resource.status === 'active';
  const rep = report.data;
  const drifted = resource.drift_status === 'drifted' || resource.drift_status === 'missing';
  const acceptable = Boolean(rep?.acceptable) && resource.drift_status === 'drifted';
  const acceptReason =
    resource.drift_status === 'missing'
      ? 'The cloud object is gone: there is nothing to adopt.'
      : rep && !rep.acceptable
        ? 'Some drifted attributes are not ones the catalog lets be adopted (only e.g. tags can be); reconcile instead.'
        : '';
  const disabled = !canAct || busy || action !== null;

  return (
    <section id="drift-panel" className="card scroll-mt-4" aria-labelledby="drift-title" data-testid="drift-panel">
      <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
        <h2 id="drift-title" className="flex items-center gap-2 text-base font-semibold">
          Drift <DriftBadge status={resource.drift_status} checkedAt={resource.drift_checked_at} testId="drift-status" />
        </h2>
        {canAct && live && (
          <button type="button" className="btn btn-secondary btn-sm" disabled={disabled} onClick={() => void start('check')}>
            {action === 'check' ? 'Starting…' : 'Check now'}
          </button>
        )}
      </div>
      <p className="text-sm text-slate-600" data-testid="drift-checked-at">
        {resource.drift_checked_at ? <>Last checked {formatDateTime(resource.drift_checked_at)}.</> : 'Not checked yet.'}
        {resource.drift_status === 'in_sync' && ' The cloud matches what was ordered.'}
        {resource.drift_status === 'missing' && ' The cloud object is gone.'}
        {resource.drift_status === 'check_failed' && ' The last check failed: see its run log.'}
      </p>
      <ErrorAlert error={error} />
      {checked && report.loading && !rep && <Loading label="Loading the drift report…" />}
      {checked && report.error && report.error.status !== 404 && <ErrorAlert error={report.error} onRetry={report.reload} />}
      {rep && rep.changes.length > 0 && (
        <ul className="mt-3 space-y-3" data-testid="drift-diff">
          {rep.changes.map((c) => (
            <ChangeView key={c.address} change={c} />
          ))}
        </ul>
      )}
      {drifted && canAct && (
        <div className="mt-4 space-y-2">
          <div className="flex flex-wrap gap-2">
            <button type="button" className="btn btn-primary btn-sm" disabled={disabled} onClick={() => void start('reconcile')}>
              {action === 'reconcile' ? 'Starting…' : 'Reconcile'}
            </button>
            <button
              type="button"
              className="btn btn-secondary btn-sm"
              disabled={disabled || !acceptable}
              aria-describedby={acceptReason ? 'accept-reason' : undefined}
              onClick={() => void start('accept')}
            >
              {action === 'accept' ? 'Starting…' : 'Accept cloud values'}
            </button>
          </div>
          <p className="text-xs text-slate-600">
            Reconcile plans the change back to the ordered configuration; accepting adopts the cloud’s values into it. Both are
            ordinary runs and follow the project’s approval rule.
          </p>
          {acceptReason && (
            <p id="accept-reason" className="text-xs text-amber-800" data-testid="accept-reason">
              {acceptReason}
            </p>
          )}
        </div>
      )}
    </section>
  );
}
