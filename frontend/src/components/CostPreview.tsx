import type { CatalogKind, Project } from '../api/types';
import { checkBudget, estimateMonthlyCost, HOURS_PER_MONTH } from '../lib/cost';
import { formatUsd, formatUsdPrecise } from '../lib/format';

export function CostPreview({
  kind,
  sizeId,
  expectedGb,
  project,
  simulated,
}: {
  kind: CatalogKind | undefined;
  sizeId: string;
  expectedGb: string;
  project: Project | undefined;
  simulated: boolean;
}) {
  const estimate = estimateMonthlyCost(kind, { sizeId, expectedGb });
  const budget = checkBudget(project, estimate);
  const size = kind?.sizes?.find((s) => s.id === sizeId);

  let basis = 'Choose what to create to see its cost.';
  if (kind?.id === 'vm') {
    basis = size ? `${formatUsdPrecise(size.hourly_usd)}/h × ${HOURS_PER_MONTH} h` : 'Choose a size to see its cost.';
  } else if (kind?.id === 'storage') {
    basis =
      estimate !== null
        ? `${formatUsdPrecise(kind.gb_month_usd)}/GB-month × ${Number(expectedGb.trim()).toLocaleString('en-US')} GB`
        : `${formatUsdPrecise(kind.gb_month_usd)} per GB-month. Enter the expected GB.`;
  }

  return (
    <section className="card" aria-labelledby="cost-title" aria-live="polite">
      <h2 id="cost-title" className="text-sm font-semibold text-slate-700">
        Estimated cost
      </h2>
      <p className="mt-1 text-2xl font-semibold tabular-nums text-slate-900" data-testid="cost-estimate">
        {estimate === null ? '—' : formatUsd(estimate)}
        <span className="ml-1 text-sm font-normal text-slate-600">/ month</span>
      </p>
      <p className="mt-1 text-xs text-slate-600">{basis}</p>
      {simulated && <p className="mt-2 text-xs text-violet-800">Sandbox prices are simulated; nothing is billed.</p>}
      {project && (
        <div className="mt-3 border-t border-slate-100 pt-3 text-sm">
          {budget.remaining === null ? (
            <p className="text-slate-600">{project.name} has no monthly budget.</p>
          ) : (
            <p className="text-slate-700">
              Budget left in {project.name}:{' '}
              <span className="font-medium tabular-nums" data-testid="budget-remaining">
                {formatUsd(budget.remaining)}
              </span>
            </p>
          )}
          {budget.exceeds && (
            <p role="alert" data-testid="budget-warning" className="mt-2 rounded-md border border-amber-300 bg-amber-50 p-2 text-amber-900">
              This would exceed the project’s monthly budget by{' '}
              {formatUsd((estimate ?? 0) - (budget.remaining ?? 0))}. The server may refuse it.
            </p>
          )}
        </div>
      )}
    </section>
  );
}
