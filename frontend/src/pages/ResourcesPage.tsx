import { Link, useSearchParams } from 'react-router';
import { api, listAllProjects } from '../api/endpoints';
import { CLOUDS, DRIFT_STATUSES, RESOURCE_STATUSES, type CloudId, type DriftStatus, type KindId, type ResourceStatus } from '../api/types';
import { useAsync } from '../lib/useAsync';
import { useCursorList } from '../lib/useCursorList';
import { cloudLabel, formatUsd, humanize } from '../lib/format';
import { endpointOf } from '../lib/resources';
import { ResourceStatusBadge } from '../components/StatusBadge';
import { DriftBadge, ExpiryCountdown } from '../components/DayTwoBadges';
import { DRIFT_LABELS } from '../lib/drift';
import { EmptyState, ErrorAlert, Loading, PageHeader, SimulatedTag } from '../components/ui';

const PAGE_SIZE = 25;
const FILTERS = ['project_id', 'cloud', 'kind', 'status', 'drift_status'] as const;

type FilterName = (typeof FILTERS)[number];

/** One labelled filter select; the empty value means "any". */
function FilterSelect(props: {
  name: FilterName;
  label: string;
  any: string;
  value: string;
  onChange: (name: FilterName, value: string) => void;
  options: { value: string; label: string }[];
  className?: string;
}) {
  const id = `f-${props.name === 'project_id' ? 'project' : props.name === 'drift_status' ? 'drift' : props.name}`;
  return (
    <div className={props.className}>
      <label htmlFor={id} className="label">
        {props.label}
      </label>
      <select id={id} className="input" value={props.value} onChange={(e) => props.onChange(props.name, e.target.value)}>
        <option value="">{props.any}</option>
        {props.options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </div>
  );
}

export function ResourcesPage() {
  const [params, setParams] = useSearchParams();
  const filters = {
    project_id: params.get('project_id') ?? '',
    cloud: (params.get('cloud') ?? '') as CloudId | '',
    kind: (params.get('kind') ?? '') as KindId | '',
    status: (params.get('status') ?? '') as ResourceStatus | '',
    drift_status: (params.get('drift_status') ?? '') as DriftStatus | '',
  };
  const key = FILTERS.map((f) => `${f}=${filters[f]}`).join('&');
  const projects = useAsync(listAllProjects, 'projects');
  const list = useCursorList((cursor) => api.listResources({ ...filters, limit: PAGE_SIZE, cursor }), `resources?${key}`);
  const projectName = (id: string) => projects.data?.find((p) => p.id === id)?.name ?? '';
  const filtered = FILTERS.some((f) => filters[f] !== '');

  const setFilter = (name: FilterName, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    setParams(next, { replace: true });
  };

  const newHref = filters.project_id ? `/resources/new?project_id=${encodeURIComponent(filters.project_id)}` : '/resources/new';

  return (
    <div>
      <PageHeader
        title="Resources"
        actions={
          <Link to={newHref} className="btn btn-primary">
            New resource
          </Link>
        }
      />
      <form
        className="card mb-4 grid grid-cols-2 gap-3 md:grid-cols-3 md:items-end lg:grid-cols-6"
        aria-label="Filter resources"
        onSubmit={(e) => e.preventDefault()}
      >
        <FilterSelect
          name="project_id"
          label="Project"
          any="All projects"
          value={filters.project_id}
          onChange={setFilter}
          options={(projects.data ?? []).map((p) => ({ value: p.id, label: p.name }))}
          className="col-span-2 md:col-span-1"
        />
        <FilterSelect
          name="cloud"
          label="Cloud"
          any="All clouds"
          value={filters.cloud}
          onChange={setFilter}
          options={CLOUDS.map((c) => ({ value: c, label: cloudLabel(c) }))}
        />
        <FilterSelect
          name="kind"
          label="Kind"
          any="All kinds"
          value={filters.kind}
          onChange={setFilter}
          options={[
            { value: 'vm', label: 'Virtual machine' },
            { value: 'storage', label: 'Object storage' },
          ]}
        />
        <FilterSelect
          name="status"
          label="Status"
          any="Any status"
          value={filters.status}
          onChange={setFilter}
          options={RESOURCE_STATUSES.map((st) => ({ value: st, label: humanize(st) }))}
        />
        <FilterSelect
          name="drift_status"
          label="Drift"
          any="Any drift"
          value={filters.drift_status}
          onChange={setFilter}
          options={DRIFT_STATUSES.map((st) => ({ value: st, label: DRIFT_LABELS[st] }))}
        />
        <div className="flex items-end">
          <button
            type="button"
            className="btn btn-ghost w-full md:w-auto"
            disabled={!filtered}
            onClick={() => setParams(new URLSearchParams(), { replace: true })}
          >
            Clear filters
          </button>
        </div>
      </form>

      {list.loading && <Loading />}
      {!list.loading && list.items.length === 0 && !list.error && (
        <EmptyState
          title={filtered ? 'No resources match these filters' : 'No resources yet'}
          actions={
            !filtered && (
              <Link to={newHref} className="btn btn-primary">
                Create a resource
              </Link>
            )
          }
        >
          {filtered ? 'Try other filters.' : 'Order a VM or a storage bucket on any of your cloud accounts.'}
        </EmptyState>
      )}
      {list.items.length > 0 && (
        <div className="card relative overflow-x-auto p-0 sm:p-0">
          <table className="table-base" data-testid="resources-table">
            <thead className="bg-slate-50">
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col" className="hidden sm:table-cell">
                  Drift
                </th>
                <th scope="col" className="hidden sm:table-cell">
                  Cloud
                </th>
                <th scope="col" className="hidden lg:table-cell">
                  Kind
                </th>
                <th scope="col" className="hidden lg:table-cell">
                  Project
                </th>
                <th scope="col" className="text-right">
                  Monthly
                </th>
                <th scope="col" className="hidden md:table-cell">
                  IP / URL
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {list.items.map((r) => {
                const endpoint = endpointOf(r);
                return (
                  <tr key={r.id} data-testid={`resource-row-${r.name}`}>
                    <td>
                      <Link to={`/resources/${r.id}`} className="link">
                        {r.name}
                      </Link>
                      <div className="text-xs text-slate-500 sm:hidden">
                        {cloudLabel(r.cloud)} · {r.kind === 'vm' ? 'VM' : 'Storage'}
                      </div>
                      {endpoint && <div className="max-w-48 truncate font-mono text-xs text-slate-600 md:hidden">{endpoint}</div>}
                    </td>
                    <td>
                      <ResourceStatusBadge status={r.status} testId={`status-${r.name}`} />
                      {r.status !== 'destroyed' && (
                        <ExpiryCountdown
                          expiresAt={r.expires_at}
                          currentRun={r.current_run}
                          testId={`expiry-${r.name}`}
                          className="mt-0.5 block whitespace-nowrap"
                        />
                      )}
                    </td>
                    <td className="hidden sm:table-cell">
                      {r.status !== 'destroyed' && (
                        <DriftBadge status={r.drift_status} checkedAt={r.drift_checked_at} testId={`drift-${r.name}`} />
                      )}
                    </td>
                    <td className="hidden sm:table-cell">
                      <span className="inline-flex flex-wrap items-center gap-1.5 whitespace-nowrap">
                        {cloudLabel(r.cloud)} {r.simulated && <SimulatedTag />}
                      </span>
                      <div className="text-xs text-slate-500">{r.region}</div>
                    </td>
                    <td className="hidden whitespace-nowrap lg:table-cell">
                      {r.kind === 'vm' ? 'VM' : 'Storage'}
                      {r.size && <div className="text-xs text-slate-500">{r.size}</div>}
                    </td>
                    <td className="hidden lg:table-cell">{projectName(r.project_id)}</td>
                    <td className="whitespace-nowrap text-right tabular-nums">{formatUsd(r.monthly_cost_usd)}</td>
                    <td className="hidden max-w-64 truncate font-mono text-xs md:table-cell" title={endpoint ?? undefined}>
                      {endpoint ?? '—'}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <div className="mt-3">
        <ErrorAlert error={list.error} onRetry={list.items.length ? list.loadMore : list.reload} />
      </div>
      {list.hasMore && (
        <div className="mt-4 flex justify-center">
          <button type="button" className="btn btn-secondary" onClick={list.loadMore} disabled={list.loadingMore}>
            {list.loadingMore ? 'Loading…' : 'Load more'}
          </button>
        </div>
      )}
    </div>
  );
}
