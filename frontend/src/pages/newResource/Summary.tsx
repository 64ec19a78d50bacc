import type { ReactNode } from 'react';
import type { Account, CatalogKind, Project } from '../../api/types';
import { cloudLabel } from '../../lib/format';
import { CostPreview } from '../../components/CostPreview';

/** The side panel: the cost estimate and the choices so far. */
export function Summary({
  kind,
  account,
  project,
  simulated,
  size,
  region,
  expectedGb,
  children,
}: {
  kind: CatalogKind | undefined;
  account: Account | undefined;
  project: Project | undefined;
  simulated: boolean;
  size: string;
  region: string;
  expectedGb: string;
  children?: ReactNode;
}) {
  return (
  <aside className="space-y-4 lg:sticky lg:top-20 lg:self-start">
    <CostPreview kind={kind} sizeId={size} expectedGb={expectedGb} project={project} simulated={simulated} />
    <section className="card text-sm" aria-label="Summary">
      <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1">
        <dt className="text-slate-600">Account</dt>
        <dd className="truncate">{account ? `${account.name} (${cloudLabel(account.cloud)})` : '—'}</dd>
        <dt className="text-slate-600">Kind</dt>
        <dd>{kind?.label ?? '—'}</dd>
        <dt className="text-slate-600">Region</dt>
        <dd className="truncate">{kind?.regions.find((r) => r.id === region)?.name ?? '—'}</dd>
        {kind?.id === 'vm' && (
          <>
            <dt className="text-slate-600">Size</dt>
            <dd>{size || '—'}</dd>
          </>
        )}
      </dl>
    </section>
    {children}
  </aside>
  );
}
