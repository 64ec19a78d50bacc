import { lazy, Suspense } from 'react';
import { Link } from 'react-router';
import { api, listAllProjects } from '../api/endpoints';
import type { Resource, Run } from '../api/types';
import { useAsync } from '../lib/useAsync';
import { accruedByCloud, countByCloudAndStatus } from '../lib/dashboard';
import { cloudColor, cloudLabel, formatRelative, formatUsd, operationLabel } from '../lib/format';
import { ResourceStatusBadge, RunStatusBadge } from '../components/StatusBadge';
import { EmptyState, ErrorAlert, Loading, PageHeader } from '../components/ui';
import { DriftFleet } from './dashboard/DriftFleet';
import { ExpiringSoon } from './dashboard/ExpiringSoon';

const RunRateChart = lazy(() => import('../components/Charts').then((m) => ({ default: m.RunRateChart })));
const AccruedChart = lazy(() => import('../components/Charts').then((m) => ({ default: m.AccruedChart })));

const MAX_PAGES = 10;

async function loadAllResources(): Promise<Resource[]> {
  const out: Resource[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < MAX_PAGES; i++) {
    const page = await api.listResources({ limit: 100, cursor });
    out.push(...page.items);
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return out;
}

interface RecentRun {
  run: Run;
  resource: Resource;
}

/** The latest runs across the user's projects, in one call. */
async function loadRecentRuns(resources: Resource[]): Promise<RecentRun[]> {
  const byId = new Map(resources.map((r) => [r.id, r]));
  const page = await api.recentRuns(8);
  return page.items.flatMap((run) => {
    const resource = byId.get(run.resource_id);
    return resource ? [{ run, resource }] : [];
  });
}

async function hasAnyAccount(projectIds: string[]): Promise<boolean> {
  const lists = await Promise.all(projectIds.slice(0, 5).map((id) => api.listAccounts(id).catch(() => ({ items: [] }))));
  return lists.some((l) => l.items.length > 0);
}

function todayUtc(): string {
  return new Date().toISOString().slice(0, 10);
}

function ChartFallback() {
  return <div className="h-56 animate-pulse rounded-md bg-slate-100" aria-hidden="true" />;
}

export function DashboardPage() {
  const resources = useAsync(loadAllResources, 'dash:resources');
  const projects = useAsync(listAllProjects, 'projects');
  const summary = useAsync(() => api.costSummary('cloud'), 'dash:summary');
  const daily = useAsync(() => api.dailyCosts(30), 'dash:daily');
  const resourceList = resources.data;
  const recentKey = resourceList ? resourceList.map((r) => `${r.id}:${r.updated_at}`).slice(0, 50).join(',') : '';
  const recent = useAsync(() => loadRecentRuns(resourceList ?? []), `dash:recent:${recentKey}`, Boolean(resourceList?.length));
  const projectIds = (projects.data ?? []).map((p) => p.id);
  const isEmpty = resourceList !== undefined && resourceList.length === 0;
  const accounts = useAsync(() => hasAnyAccount(projectIds), `dash:accounts:${projectIds.join(',')}`, isEmpty && projectIds.length > 0);

  if ((resources.loading && !resourceList) || (projects.loading && !projects.data)) return <Loading />;
  if (!resourceList) return <ErrorAlert error={resources.error} onRetry={resources.reload} />;

  if (isEmpty) {
    const haveAccount = projectIds.length > 0 && accounts.data === true;
    return (
      <div>
        <PageHeader title="Dashboard" />
        <EmptyState
          testId="dashboard-empty"
          title={haveAccount ? 'Nothing running yet' : 'Welcome to cloudplane'}
          actions={
            haveAccount ? (
              <>
                <Link to="/resources/new" className="btn btn-primary">
                  Create a resource
                </Link>
                <Link to="/accounts/new" className="btn btn-secondary">
                  Add a cloud account
                </Link>
              </>
            ) : (
              <Link to="/accounts/new" className="btn btn-primary">
                Add a cloud account
              </Link>
            )
          }
        >
          {haveAccount ? (
            <p>Your cloud account is ready. Order a VM or a storage bucket and watch it come up here.</p>
          ) : (
            <p>
              Connect AWS, Azure or Google Cloud, or start with the <strong>simulated sandbox cloud</strong>: it needs no
              credentials and costs nothing. Then order VMs and storage and follow their cost here.
            </p>
          )}
        </EmptyState>
      </div>
    );
  }

  const counts = countByCloudAndStatus(resourceList);
  const live = resourceList.filter((r) => r.status !== 'destroyed').length;
  const series = daily.data ? accruedByCloud(daily.data.items, daily.data.days || 30, todayUtc()) : null;

  return (
    <div className="space-y-5">
      <PageHeader
        title="Dashboard"
        subtitle={`${live} resource${live === 1 ? '' : 's'} in ${projectIds.length} project${projectIds.length === 1 ? '' : 's'}`}
        actions={
          <Link to="/resources/new" className="btn btn-primary">
            New resource
          </Link>
        }
      />

      <section aria-labelledby="counts-title">
        <h2 id="counts-title" className="sr-only">
          Resources by cloud and status
        </h2>
        <ul className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
          {counts.map((c) => (
            <li key={c.cloud} className="card" data-testid={`count-${c.cloud}`}>
              <div className="flex items-center justify-between">
                <Link to={`/resources?cloud=${c.cloud}`} className="flex items-center gap-2 font-medium text-slate-900 hover:underline">
                  <span aria-hidden="true" className="h-2.5 w-2.5 rounded-full" style={{ background: cloudColor(c.cloud) }} />
                  {cloudLabel(c.cloud)}
                </Link>
                <span className="text-2xl font-semibold tabular-nums">{c.total}</span>
              </div>
              <ul className="mt-2 flex flex-wrap gap-1.5" aria-label={`${cloudLabel(c.cloud)} by status`}>
                {Object.entries(c.byStatus).map(([status, n]) => (
                  <li key={status}>
                    <Link to={`/resources?cloud=${c.cloud}&status=${status}`} className="inline-flex items-center gap-1 text-xs">
                      <ResourceStatusBadge status={status as Resource['status']} />
                      <span className="tabular-nums text-slate-700">{n}</span>
                    </Link>
                  </li>
                ))}
              </ul>
            </li>
          ))}
        </ul>
      </section>

      <div className="grid gap-5 lg:grid-cols-2">
        <section className="card" aria-labelledby="runrate-title">
          <div className="mb-2 flex flex-wrap items-baseline justify-between gap-2">
            <h2 id="runrate-title" className="text-base font-semibold">
              Monthly run-rate
            </h2>
            {summary.data && (
              <p className="text-sm text-slate-600">
                Total{' '}
                <span className="text-lg font-semibold tabular-nums text-slate-900" data-testid="runrate-total">
                  {formatUsd(summary.data.total_monthly_usd)}
                </span>{' '}
                / month
              </p>
            )}
          </div>
          {summary.loading && !summary.data && <ChartFallback />}
          <ErrorAlert error={summary.error} onRetry={summary.reload} />
          {summary.data &&
            (summary.data.items.length === 0 ? (
              <p className="py-10 text-center text-sm text-slate-600">No running costs.</p>
            ) : (
              <Suspense fallback={<ChartFallback />}>
                <RunRateChart items={summary.data.items} />
              </Suspense>
            ))}
          {summary.data && summary.data.items.length > 0 && (
            <ul className="mt-2 flex flex-wrap gap-x-4 gap-y-1 text-sm">
              {summary.data.items.map((i) => (
                <li key={i.key} data-testid={`runrate-${i.key}`}>
                  {cloudLabel(i.key)}: <span className="font-medium tabular-nums">{formatUsd(i.monthly_usd)}</span>
                  <span className="text-slate-500"> ({i.count})</span>
                </li>
              ))}
            </ul>
          )}
        </section>

        <section className="card" aria-labelledby="accrued-title">
          <div className="mb-2 flex flex-wrap items-baseline justify-between gap-2">
            <h2 id="accrued-title" className="text-base font-semibold">
              Accrued over 30 days
            </h2>
            {series && (
              <p className="text-sm text-slate-600" data-testid="accrued-total">
                {formatUsd(Object.values(series.totals).reduce((a, b) => a + b, 0))}
              </p>
            )}
          </div>
          {daily.loading && !daily.data && <ChartFallback />}
          <ErrorAlert error={daily.error} onRetry={daily.reload} />
          {series &&
            (series.clouds.length === 0 ? (
              <p className="py-10 text-center text-sm text-slate-600">No costs recorded in the last 30 days.</p>
            ) : (
              <Suspense fallback={<ChartFallback />}>
                <AccruedChart series={series} />
              </Suspense>
            ))}
        </section>
      </div>

      <div className="flex flex-col gap-5 lg:flex-row lg:items-start">
        <DriftFleet className="min-w-0 lg:flex-[2]" />
        <ExpiringSoon className="min-w-0 lg:flex-1" />
      </div>

      <section className="card p-0 sm:p-0" aria-labelledby="recent-title">
        <div className="flex items-center justify-between px-4 pt-4 sm:px-5">
          <h2 id="recent-title" className="text-base font-semibold">
            Recent runs
          </h2>
          <Link to="/resources" className="link text-sm">
            All resources
          </Link>
        </div>
        {recent.loading && !recent.data && <Loading />}
        <div className="px-4 sm:px-5">
          <ErrorAlert error={recent.error} onRetry={recent.reload} />
        </div>
        {recent.data && recent.data.length === 0 && <p className="px-5 py-4 text-sm text-slate-600">No runs yet.</p>}
        {recent.data && recent.data.length > 0 && (
          <ul className="mt-2 divide-y divide-slate-100" data-testid="recent-runs">
            {recent.data.map(({ run, resource }) => (
              <li key={run.id} className="flex flex-wrap items-center justify-between gap-2 px-4 py-2.5 sm:px-5">
                <div className="min-w-0">
                  <Link to={`/resources/${resource.id}`} className="link break-all">
                    {resource.name}
                  </Link>
                  <span className="ml-2 text-sm text-slate-600">
                    {operationLabel(run.operation)} · {cloudLabel(resource.cloud)}
                  </span>
                </div>
                <div className="flex items-center gap-3">
                  <span className="text-xs text-slate-500">{formatRelative(run.queued_at)}</span>
                  <RunStatusBadge status={run.status} />
                </div>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
