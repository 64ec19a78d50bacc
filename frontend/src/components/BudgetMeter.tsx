import { formatUsd } from '../lib/format';

export function BudgetMeter({ used, budget }: { used: number; budget: number | null }) {
  if (budget === null) {
    return (
      <p className="text-sm text-slate-700" data-testid="budget-used">
        {formatUsd(used)} used this month · no budget set
      </p>
    );
  }
  const pct = budget > 0 ? Math.min(100, (used / budget) * 100) : 100;
  const over = used > budget;
  const tone = over ? 'bg-red-600' : pct >= 80 ? 'bg-amber-500' : 'bg-green-600';
  return (
    <div data-testid="budget-used">
      <div className="mb-1 flex flex-wrap justify-between gap-2 text-sm">
        <span className="text-slate-700">
          <span className="font-semibold text-slate-900">{formatUsd(used)}</span> of {formatUsd(budget)} used this month
        </span>
        <span className={over ? 'font-medium text-red-700' : 'text-slate-600'}>
          {over ? `${formatUsd(used - budget)} over budget` : `${formatUsd(budget - used)} left`}
        </span>
      </div>
      <div
        className="h-2 w-full overflow-hidden rounded-full bg-slate-200"
        role="meter"
        aria-label="Budget used"
        aria-valuemin={0}
        aria-valuemax={budget}
        aria-valuenow={Math.min(used, budget)}
      >
        <div className={`h-full ${tone}`} style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}
