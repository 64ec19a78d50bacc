import { Link } from 'react-router';
import { api } from '../../api/endpoints';
import type { Resource } from '../../api/types';
import { useAsync } from '../../lib/useAsync';
import { cloudLabel } from '../../lib/format';
import { ExpiryCountdown } from '../../components/DayTwoBadges';
import { ErrorAlert, Loading } from '../../components/ui';

const DAY_MS = 86_400_000;

/** Live resources whose expiry is before `until` (the server filters; this guards an older one). */
async function loadExpiring(now: number): Promise<Resource[]> {
  const until = new Date(now + DAY_MS).toISOString();
  const page = await api.listResources({ expires_before: until, limit: 50 });
  return page.items
    .filter((r) => {
      const at = r.expires_at;
      return r.status !== 'destroyed' && at !== null && new Date(at).getTime() <= now + DAY_MS;
    })
    .sort((a, b) => (a.expires_at ?? '').localeCompare(b.expires_at ?? ''));
}

/** "Expiring within 24 h" on the dashboard. */
export function ExpiringSoon({ className = '' }: { className?: string }) {
  const list = useAsync(() => loadExpiring(Date.now()), 'dash:expiring');
  const items = list.data ?? [];
  return (
    <section className={`card ${className}`} aria-labelledby="expiring-title" data-testid="expiring-soon">
      <h2 id="expiring-title" className="mb-2 text-base font-semibold">
        Expiring within 24 h
      </h2>
      {list.loading && !list.data && <Loading />}
      <ErrorAlert error={list.error} onRetry={list.reload} />
      {list.data && items.length === 0 && <p className="text-sm text-slate-600">Nothing expires in the next 24 hours.</p>}
      {items.length > 0 && (
        <ul className="divide-y divide-slate-100">
          {items.map((r) => (
            <li key={r.id} className="flex flex-wrap items-center justify-between gap-2 py-2">
              <span className="min-w-0">
                <Link to={`/resources/${r.id}`} className="link break-all">
                  {r.name}
                </Link>
                <span className="ml-2 text-xs text-slate-500">{cloudLabel(r.cloud)}</span>
              </span>
              <ExpiryCountdown expiresAt={r.expires_at} currentRun={r.current_run} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
