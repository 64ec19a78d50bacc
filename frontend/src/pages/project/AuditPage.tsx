import { api } from '../../api/endpoints';
import { useCursorList } from '../../lib/useCursorList';
import { formatDateTime } from '../../lib/format';
import { EmptyState, ErrorAlert, Loading } from '../../components/ui';
import { useProject } from './context';

function detailText(d: unknown): string {
  if (d === null || d === undefined) return '';
  if (typeof d === 'string') return d;
  try {
    return JSON.stringify(d);
  } catch {
    return String(d);
  }
}

export function AuditPage() {
  const { project } = useProject();
  const list = useCursorList((cursor) => api.audit(project.id, cursor, 50), `audit:${project.id}`);

  return (
    <section aria-labelledby="audit-title">
      <div className="mb-3 flex items-center justify-between gap-2">
        <h2 id="audit-title" className="text-base font-semibold">
          Audit log
        </h2>
        <button type="button" className="btn btn-secondary btn-sm" onClick={list.reload}>
          Refresh
        </button>
      </div>
      {list.loading && <Loading />}
      {!list.loading && list.items.length === 0 && !list.error && (
        <EmptyState title="Nothing recorded yet">Changes to this project, its members, accounts and resources appear here.</EmptyState>
      )}
      {list.items.length > 0 && (
        <div className="card relative overflow-x-auto p-0 sm:p-0">
          <table className="table-base" data-testid="audit-table">
            <thead className="bg-slate-50">
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col" className="hidden md:table-cell">
                  Detail
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {list.items.map((ev) => {
                const detail = detailText(ev.detail);
                return (
                  <tr key={ev.id}>
                    <td className="whitespace-nowrap text-slate-700">{formatDateTime(ev.ts)}</td>
                    <td className="max-w-48 truncate">{ev.actor?.email ?? 'system'}</td>
                    <td className="whitespace-nowrap font-mono text-xs">{ev.action}</td>
                    <td className="max-w-48 truncate font-mono text-xs" title={ev.target ?? undefined}>
                      {ev.target}
                    </td>
                    <td className="hidden max-w-md md:table-cell">
                      {detail && (
                        <code className="block truncate text-xs text-slate-600" title={detail}>
                          {detail}
                        </code>
                      )}
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
    </section>
  );
}
