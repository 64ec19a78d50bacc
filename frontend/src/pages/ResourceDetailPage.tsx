import { useCallback, useEffect, useState } from 'react';
import { Link, useLocation, useParams } from 'react-router';
import { api, loadCatalog } from '../api/endpoints';
import { errorMessage } from '../api/client';
import { CANCELABLE_RUN_STATUSES, type Resource, type Run, type RunEvent, type RunStatus } from '../api/types';
import { useAsync } from '../lib/useAsync';
import { isFinalRunStatus } from '../lib/runEvents';
import { canManage, canOrder } from '../lib/projects';
import { cloudLabel, formatDateTime, formatDuration, formatUsd, humanize, operationLabel } from '../lib/format';
import { CopyButton } from '../components/CopyButton';
import { RunPanel } from '../components/RunPanel';
import { ResourceStatusBadge, RunStatusBadge } from '../components/StatusBadge';
import { ErrorAlert, Loading, Notice, SimulatedTag } from '../components/ui';
import { DestroyDialog } from './resourceDetail/DestroyDialog';
import { ResizeDialog } from './resourceDetail/ResizeDialog';
import { ApproveDialog } from './resourceDetail/ApproveDialog';
import { OUTPUT_LABELS, outputEntries } from './resourceDetail/outputs';
import { DriftPanel } from './resourceDetail/DriftPanel';
import { ExpiryBanner, ExpiryCard } from './resourceDetail/ExpiryCard';
import { ExtendDialog } from './resourceDetail/ExtendDialog';
import { SchedulePanel } from './resourceDetail/SchedulePanel';
import { ProtectedBadge, ProtectionCard } from './resourceDetail/ProtectionCard';
import { EditDialog } from './resourceDetail/EditDialog';
import { DriftBadge, ExpiryCountdown } from '../components/DayTwoBadges';

export function ResourceDetailPage() {
  const { resourceId = '' } = useParams();
  const location = useLocation();
  const initialRunId = (location.state as { runId?: string } | null)?.runId;
  const resource = useAsync(() => api.getResource(resourceId), `resource:${resourceId}`);
  const runs = useAsync(() => api.listRuns(resourceId), `runs:${resourceId}`);
  const projectId = resource.data?.project_id ?? '';
  const project = useAsync(() => api.getProject(projectId), `project:${projectId}`, Boolean(projectId));
  const catalog = useAsync(loadCatalog, 'catalog');

  const [selectedRunId, setSelectedRunId] = useState<string | null>(initialRunId ?? null);
  const [actionError, setActionError] = useState('');
  const [busyAction, setBusyAction] = useState<'approve' | 'cancel' | null>(null);
  const [dialog, setDialog] = useState<'destroy' | 'resize' | 'extend' | 'approve' | 'edit' | null>(null);

  const r = resource.data;
  const runItems = runs.data?.items ?? [];
  const runId = selectedRunId ?? r?.current_run?.id ?? runItems[0]?.id ?? null;
  const listedRun = runItems.find((x) => x.id === runId);
  const selectedRun: Run | undefined =
    listedRun ??
    (runId && r?.current_run?.id === runId
      ? {
          id: runId,
          resource_id: r.id,
          resource_name: r.name,
          operation: r.current_run.operation,
          source: 'user',
          status: r.current_run.status,
          attempt: 1,
          plan_summary: null,
          error: null,
          approved_by: null,
          cancel_requested: false,
          queued_at: r.updated_at,
          started_at: null,
          finished_at: null,
          override_required: false,
          request_id: null,
          events_pruned_at: null,
        }
      : undefined);

  const setRunStatus = useCallback(
    (id: string, status: RunStatus) => {
      runs.setData((prev) => prev && { ...prev, items: prev.items.map((x) => (x.id === id ? { ...x, status } : x)) });
      resource.setData(
        (prev) => prev && (prev.current_run?.id === id ? { ...prev, current_run: { ...prev.current_run, status } } : prev),
      );
    },
    [runs, resource],
  );

  const reloadAll = useCallback(() => {
    resource.reload();
    runs.reload();
    project.reload();
  }, [resource, runs, project]);

  const onRunEvent = useCallback(
    (ev: RunEvent) => {
      if (!runId) return;
      if (ev.type === 'status') {
        resource.setData((prev) => prev && { ...prev, status: ev.data.resource_status ?? prev.status });
        setRunStatus(runId, ev.data.run_status);
        if (isFinalRunStatus(ev.data.run_status)) reloadAll();
      } else if (ev.type === 'outputs') {
        resource.setData((prev) => prev && { ...prev, outputs: ev.data });
      } else if (ev.type === 'plan') {
        runs.setData(
          (prev) => prev && { ...prev, items: prev.items.map((x) => (x.id === runId ? { ...x, plan_summary: ev.data } : x)) },
        );
      }
    },
    [runId, resource, runs, setRunStatus, reloadAll],
  );

  // A safety net under the event stream: refresh while a run is under way.
  const busy = Boolean(r?.current_run && !isFinalRunStatus(r.current_run.status));
  const reloadResource = resource.reload;
  useEffect(() => {
    if (!busy) return;
    const t = window.setInterval(reloadResource, 15_000);
    return () => window.clearInterval(t);
  }, [busy, reloadResource]);

  // A run the list does not know yet (just started): fetch the list again.
  const reloadRuns = runs.reload;
  const missingRun = Boolean(runId && runs.data && !listedRun);
  useEffect(() => {
    if (missingRun) reloadRuns();
  }, [missingRun, reloadRuns]);

  if (resource.loading && !r) return <Loading />;
  if (!r) return <ErrorAlert error={resource.error ?? 'Resource not found'} onRetry={resource.reload} />;

  const role = project.data?.role;
  const orderRights = canOrder(role);
  const runStatus = selectedRun?.status;
  const canApprove = runStatus === 'awaiting_approval';
  const canCancel = runStatus !== undefined && CANCELABLE_RUN_STATUSES.includes(runStatus);
  // A drift check in progress does not block a change: the server cancels the check.
  const checking = busy && r.current_run?.operation === 'drift_check';
  const canResize = r.kind === 'vm' && r.status === 'active' && (!busy || checking);
  const canDestroy = r.status !== 'destroyed' && r.status !== 'destroying' && (!busy || checking);
  const canEdit = r.status === 'active' && (!busy || checking);
  const outputs = outputEntries(r.outputs);
  const catalogKind = catalog.data?.clouds.find((c) => c.id === r.cloud)?.kinds.find((k) => k.id === r.kind);
  const stoppable = r.kind === 'vm' && catalogKind?.stoppable === true && r.status !== 'destroyed';
  const stoppedMonthly = catalogKind?.sizes?.find((x) => x.id === r.size)?.stopped_monthly_cost_usd;

  const runAction = async (kind: 'approve' | 'cancel') => {
    if (!selectedRun) return;
    setBusyAction(kind);
    setActionError('');
    try {
      const updated = kind === 'approve' ? await api.approveRun(selectedRun.id) : await api.cancelRun(selectedRun.id);
      if (updated && typeof updated === 'object' && 'status' in updated) setRunStatus(selectedRun.id, updated.status);
      runs.reload();
      resource.reload();
    } catch (e) {
      setActionError(errorMessage(e));
    } finally {
      setBusyAction(null);
    }
  };

  const startedRun = (run: Run, updated: Resource) => {
    setDialog(null);
    resource.setData(() => updated);
    runs.setData((prev) => ({ items: [run, ...(prev?.items ?? []).filter((x) => x.id !== run.id)], next_cursor: prev?.next_cursor ?? null }));
    setSelectedRunId(run.id);
  };

  return (
    <div className="space-y-5">
      <nav aria-label="Breadcrumb" className="text-sm">
        <Link to={`/resources?project_id=${encodeURIComponent(r.project_id)}`} className="link">
          Resources
        </Link>
        {project.data && <span className="text-slate-500"> · {project.data.name}</span>}
      </nav>

      <div className="flex flex-wrap items-start justify-between gap-3">
        <div className="min-w-0">
          <h1 className="flex flex-wrap items-center gap-2 text-xl font-semibold sm:text-2xl">
            <span className="break-all" data-testid="resource-name">
              {r.name}
            </span>
            <ResourceStatusBadge status={r.status} testId="resource-status" />
            {r.simulated && <SimulatedTag />}
            {r.protected && r.status !== 'destroyed' && <ProtectedBadge />}
            {r.status !== 'destroyed' && <DriftBadge status={r.drift_status} checkedAt={r.drift_checked_at} showChecked testId="resource-drift" />}
          </h1>
          <ExpiryCountdown expiresAt={r.status === 'destroyed' ? null : r.expires_at} currentRun={r.current_run} testId="resource-expiry" />
          <p className="mt-1 text-sm text-slate-600">
            {r.kind === 'vm' ? 'Virtual machine' : 'Object storage'} on {cloudLabel(r.cloud)} · {r.region}
            {r.size && <> · {r.size}</>}
          </p>
        </div>
        <div className="flex flex-wrap gap-2" aria-label="Actions">
          {canApprove && canManage(role) && (
            <button
              type="button"
              className="btn btn-primary"
              onClick={() => (selectedRun?.override_required ? setDialog('approve') : void runAction('approve'))}
              disabled={busyAction !== null}
            >
              {busyAction === 'approve' ? 'Approving…' : 'Approve'}
            </button>
          )}
          {canCancel && orderRights && (
            <button type="button" className="btn btn-secondary" onClick={() => void runAction('cancel')} disabled={busyAction !== null}>
              {busyAction === 'cancel' ? 'Canceling…' : 'Cancel run'}
            </button>
          )}
          {canResize && orderRights && (
            <button type="button" className="btn btn-secondary" onClick={() => setDialog('resize')}>
              Resize
            </button>
          )}
          {canEdit && orderRights && (
            <button type="button" className="btn btn-secondary" onClick={() => setDialog('edit')}>
              Edit
            </button>
          )}
          {canDestroy && orderRights && (
            <button
              type="button"
              className="btn btn-danger"
              onClick={() => setDialog('destroy')}
              disabled={r.protected}
              aria-describedby={r.protected ? 'destroy-protected' : undefined}
              title={r.protected ? 'Protected: lift the protection first' : undefined}
            >
              Destroy
            </button>
          )}
        </div>
      </div>

      <ErrorAlert error={actionError} />
      {r.protected && canDestroy && orderRights && (
        <p id="destroy-protected" className="text-sm text-slate-600" data-testid="destroy-protected">
          Destroy is off while the resource is protected.{' '}
          {canManage(role) ? 'Lift the protection below to destroy it.' : 'An owner or admin can lift the protection.'}
        </p>
      )}
      <ExpiryBanner resource={r} />
      {canApprove && !canManage(role) && role && (
        <Notice tone="warn">The plan waits for an owner or admin of the project to approve it.</Notice>
      )}
      <ErrorAlert error={resource.error} onRetry={resource.reload} />

      <div className="grid gap-5 lg:grid-cols-3">
        <div className="space-y-5 lg:col-span-2">
          {selectedRun ? (
            <RunPanel key={selectedRun.id} run={selectedRun} finished={isFinalRunStatus(selectedRun.status)} onEvent={onRunEvent} />
          ) : runs.loading ? (
            <Loading />
          ) : (
            <p className="card text-sm text-slate-600">No runs yet.</p>
          )}

          {r.status !== 'destroyed' && r.status !== 'pending' && (
            <DriftPanel resource={r} canAct={orderRights} busy={busy} onRunStarted={startedRun} />
          )}

          <section className="card p-0 sm:p-0" aria-labelledby="runs-title">
            <h2 id="runs-title" className="px-4 pt-4 text-base font-semibold sm:px-5">
              Runs
            </h2>
            <div className="px-4 sm:px-5">
              <ErrorAlert error={runs.error} onRetry={runs.reload} />
            </div>
            {runItems.length > 0 && (
              <div className="mt-2 relative overflow-x-auto">
                <table className="table-base" data-testid="runs-table">
                  <thead className="bg-slate-50">
                    <tr>
                      <th scope="col">Operation</th>
                      <th scope="col">Status</th>
                      <th scope="col" className="hidden sm:table-cell">
                        Queued
                      </th>
                      <th scope="col" className="hidden sm:table-cell">
                        Took
                      </th>
                      <th scope="col">
                        <span className="sr-only">View</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody className="divide-y divide-slate-100">
                    {runItems.map((run) => (
                      <tr key={run.id} className={run.id === runId ? 'bg-blue-50/60' : undefined}>
                        <td className="whitespace-nowrap">
                          {operationLabel(run.operation)}
                          {run.attempt > 1 && <span className="ml-1 text-xs text-slate-500">#{run.attempt}</span>}
                          {run.source && run.source !== 'user' && (
                            <span className="block text-xs text-slate-500" data-testid="run-source">
                              {humanize(run.source)}
                            </span>
                          )}
                        </td>
                        <td>
                          <RunStatusBadge status={run.status} />
                        </td>
                        <td className="hidden whitespace-nowrap text-slate-600 sm:table-cell">{formatDateTime(run.queued_at)}</td>
                        <td className="hidden whitespace-nowrap text-slate-600 sm:table-cell">
                          {formatDuration(run.started_at, run.finished_at)}
                        </td>
                        <td className="text-right">
                          <button
                            type="button"
                            className="btn btn-ghost btn-sm"
                            aria-current={run.id === runId ? 'true' : undefined}
                            onClick={() => setSelectedRunId(run.id)}
                            disabled={run.id === runId}
                          >
                            {run.id === runId ? 'Showing' : 'Show'}
                          </button>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
        </div>

        <div className="space-y-5">
          <ExpiryCard resource={r} canExtend={orderRights} onExtend={() => setDialog('extend')} />
          {r.status !== 'destroyed' && <ProtectionCard resource={r} canToggle={canManage(role)} onChanged={(u) => resource.setData(() => u)} />}
          {stoppable && <SchedulePanel resource={r} canEdit={orderRights} stoppedMonthly={stoppedMonthly} onSaved={(u) => resource.setData(() => u)} />}
          <section className="card" aria-labelledby="outputs-title">
            <h2 id="outputs-title" className="mb-3 text-base font-semibold">
              Outputs
            </h2>
            {outputs.length === 0 ? (
              <p className="text-sm text-slate-600">
                {r.status === 'destroyed' ? 'None: the resource is destroyed.' : 'Available once the resource is active.'}
              </p>
            ) : (
              <dl className="space-y-3">
                {outputs.map(([k, val]) => (
                  <div key={k}>
                    <dt className="text-xs font-medium uppercase tracking-wide text-slate-600">{OUTPUT_LABELS[k] ?? k}</dt>
                    <dd className="mt-0.5 flex items-center justify-between gap-2">
                      <code className="min-w-0 break-all text-sm text-slate-900" data-testid={`output-${k}`}>
                        {val}
                      </code>
                      <CopyButton value={val} label={OUTPUT_LABELS[k] ?? k} />
                    </dd>
                  </div>
                ))}
              </dl>
            )}
          </section>

          <section className="card" aria-labelledby="cost-title">
            <h2 id="cost-title" className="mb-1 text-base font-semibold">
              Cost
            </h2>
            <p className="text-2xl font-semibold tabular-nums" data-testid="resource-cost">
              {formatUsd(r.status === 'destroyed' ? 0 : r.monthly_cost_usd)}
              <span className="ml-1 text-sm font-normal text-slate-600">/ month</span>
            </p>
            {r.simulated && <p className="mt-1 text-xs text-violet-800">Simulated price; nothing is billed.</p>}
            {project.data && project.data.monthly_budget_usd !== null && (
              <p className="mt-2 text-sm text-slate-600">
                Project budget: {formatUsd(project.data.budget_used_usd)} of {formatUsd(project.data.monthly_budget_usd)} used
              </p>
            )}
          </section>

          <section className="card" aria-labelledby="details-title">
            <h2 id="details-title" className="mb-3 text-base font-semibold">
              Details
            </h2>
            <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-2 text-sm">
              <dt className="text-slate-600">Account</dt>
              <dd className="min-w-0 truncate" data-testid="resource-account">
                {r.account_name}
              </dd>
              <dt className="text-slate-600">Cloud</dt>
              <dd>
                {cloudLabel(r.cloud)} {r.simulated && <span className="text-xs text-violet-800">(simulated)</span>}
              </dd>
              <dt className="text-slate-600">Region</dt>
              <dd>{r.region}</dd>
              {r.size && (
                <>
                  <dt className="text-slate-600">Size</dt>
                  <dd>{r.size}</dd>
                </>
              )}
              {r.config?.allowed_cidrs && (
                <>
                  <dt className="text-slate-600">Allowed</dt>
                  <dd className="min-w-0 break-all font-mono text-xs">{r.config.allowed_cidrs.join(', ')}</dd>
                </>
              )}
              {r.config?.ssh_public_key && (
                <>
                  <dt className="text-slate-600">SSH key</dt>
                  <dd className="min-w-0 truncate font-mono text-xs" title={r.config.ssh_public_key}>
                    {r.config.ssh_public_key.split(' ').slice(0, 1).join(' ')} …{r.config.ssh_public_key.split(' ')[2] ?? ''}
                  </dd>
                </>
              )}
              {r.config?.expected_gb !== undefined && (
                <>
                  <dt className="text-slate-600">Expected</dt>
                  <dd>{r.config.expected_gb} GB</dd>
                </>
              )}
              {r.config?.tags && Object.keys(r.config.tags).length > 0 && (
                <>
                  <dt className="text-slate-600">Tags</dt>
                  <dd className="flex min-w-0 flex-wrap gap-1" data-testid="resource-tags">
                    {Object.entries(r.config.tags).map(([k, v]) => (
                      <code key={k} className="rounded bg-slate-100 px-1 text-xs">
                        {k}={v}
                      </code>
                    ))}
                  </dd>
                </>
              )}
              {r.kind === 'storage' && (
                <>
                  <dt className="text-slate-600">Public</dt>
                  <dd>{r.config?.public ? 'yes: anyone may read the objects' : 'no'}</dd>
                </>
              )}
              <dt className="text-slate-600">Created</dt>
              <dd>{formatDateTime(r.created_at)}</dd>
              <dt className="text-slate-600">Updated</dt>
              <dd>{formatDateTime(r.updated_at)}</dd>
            </dl>
          </section>
        </div>
      </div>

      <DestroyDialog resource={r} open={dialog === 'destroy'} onClose={() => setDialog(null)} onDone={startedRun} />
      <ExtendDialog
        resource={r}
        open={dialog === 'extend'}
        onClose={() => setDialog(null)}
        onDone={(u) => {
          setDialog(null);
          resource.setData(() => u);
        }}
      />
      {dialog === 'edit' && (
        <EditDialog resource={r} open mayOverride={canManage(role)} onClose={() => setDialog(null)} onDone={startedRun} />
      )}
      {r.kind === 'vm' && <ResizeDialog resource={r} open={dialog === 'resize'} onClose={() => setDialog(null)} onDone={startedRun} />}
      {selectedRun && canApprove && (
        <ApproveDialog
          run={selectedRun}
          open={dialog === 'approve'}
          onClose={() => setDialog(null)}
          onDone={(updated) => {
            setDialog(null);
            setRunStatus(updated.id, updated.status);
            runs.reload();
            resource.reload();
          }}
        />
      )}
    </div>
  );
}
