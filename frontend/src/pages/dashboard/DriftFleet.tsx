import { Link } from 'react-router';
import { api } from '../../api/endpoints';
import { DRIFT_STATUSES, type DriftCounts } from '../../api/types';
import { useAsync } from '../../lib/useAsync';
import { DRIFT_LABELS } from '../../lib/drift';
import { cloudLabel } from '../../lib/format';
import { DriftBadge } from '../../components/DayTwoBadges';
import { ErrorAlert, Loading } from '../../components/ui';

const COLUMNS = ['drifted', 'missing', 'check_failed', 'in_sync', 'never_checked'] as const;

function CountsRow({ label, counts, query }: { label: React.ReactNode; counts: DriftCounts; query: string }) {
  return (
    <tr>
      <th scope="row" className="text-left font-medium normal-case tracking-normal text-slate-900">
        {label}
      </th>
      {COLUMNS.map((c) => (
        <td key={c} className="text-right tabular-nums">
          {counts[c] ? (
            <Link className={c === 'drifted' || c === 'missing' ? 'link' : 'text-slate-700 hover:underline'} to={`/resources?${query}drift_status=${c}`}>
              {counts[c]}
            </Link>
          ) : (
            <span className="text-slate-400">0</span>
          )}
        </td>
      ))}
    </tr>
  );
}

function GroupRow({ label }: { label: string }) {
  return (
    <tr className="bg-slate-50">
      <th scope="rowgroup" colSpan={COLUMNS.length + 1} className="text-left">
        {label}
      </th>
    </tr>
  );
}

/** The fleet's drift on the dashboard: totals, per project and cloud, and the drifted resources. */
export function DriftFleet({ className = '' }: { className?: string }) {
  const fleet = useAsync(() => api.driftFleet(), 'dash:drift');
  if (!fleet.data && fleet.error?.status === 404) return null;
  const f = fleet.data;
  return (
    <section className={`card ${className}`} aria-labelledby="drift-fleet-title" data-testid="drift-fleet">
      <div className="mb-3 flex flex-wrap items-baseline justify-between gap-2">
        <h2 id="drift-fleet-title" className="text-base font-semibold">
          Drift
        </h2>
        <Link to="/resources?drift_status=drifted" className="link text-sm">
          Drifted resources
        </Link>
      </div>
      {fleet.loading && !f && <Loading />}
      <ErrorAlert error={fleet.error} onRetry={fleet.reload} />
      {f && (
        <>
          <ul className="mb-4 flex flex-wrap gap-2" aria-label="Totals">
            {DRIFT_STATUSES.map((st) => (
              <li key={st} data-testid={`drift-total-${st}`}>
                <Link to={`/resources?drift_status=${st}`} className="inline-flex items-center gap-1.5 text-sm">
                  <DriftBadge status={st} checkedAt={null} />
                  <span className="font-semibold tabular-nums">{f.totals[st] ?? 0}</span>
                </Link>
              </li>
            ))}
          </ul>
          {(f.projects.length > 0 || f.clouds.length > 0) && (
            <div className="relative overflow-x-auto">
              <table className="table-base">
                <thead>
                  <tr>
                    <th scope="col">
                      <span className="sr-only">Project or cloud</span>
                    </th>
                    {COLUMNS.map((c) => (
                      <th key={c} scope="col" className="text-right">
                        {DRIFT_LABELS[c]}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100">
                  <GroupRow label="By project" />
                  {f.projects.map((p) => (
                    <CountsRow key={p.project_id} label={p.project_name} counts={p.counts} query={`project_id=${encodeURIComponent(p.project_id)}&`} />
                  ))}
                  <GroupRow label="By cloud" />
                  {f.clouds.map((c) => (
                    <CountsRow key={c.cloud} label={cloudLabel(c.cloud)} counts={c.counts} query={`cloud=${c.cloud}&`} />
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {f.drifted.length > 0 ? (
            <ul className="mt-3 divide-y divide-slate-100" data-testid="drifted-list">
              {f.drifted.map((r) => (
                <li key={r.id} className="flex flex-wrap items-center justify-between gap-2 py-2">
                  <Link to={`/resources/${r.id}`} className="link break-all">
                    {r.name}
                  </Link>
                  <span className="flex items-center gap-2 text-xs text-slate-600">
                    {cloudLabel(r.cloud)}
                    <DriftBadge status={r.drift_status} checkedAt={r.drift_checked_at} showChecked />
                  </span>
                </li>
              ))}
            </ul>
          ) : (
            <p className="mt-3 text-sm text-slate-600">No drifted resources.</p>
          )}
        </>
      )}
    </section>
  );
}
