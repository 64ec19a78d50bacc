import type { PlanCost, PlanResource, PlanSummary } from '../api/types';
import { formatUsd } from '../lib/format';
import { ACTION_LABEL, actionTone, attrSide, costDelta, forcedBy, MASKED, UNKNOWN, type ActionTone } from '../lib/planView';

const BADGE: Record<ActionTone, string> = {
  create: 'border-green-300 bg-green-50 text-green-800',
  update: 'border-amber-300 bg-amber-50 text-amber-900',
  delete: 'border-red-300 bg-red-50 text-red-800',
  replace: 'border-red-500 bg-red-600 text-white',
  other: 'border-slate-300 bg-slate-50 text-slate-700',
};

function ActionBadge({ action }: { action: string }) {
  const tone = actionTone(action);
  return (
    <span className={`rounded border px-1.5 py-0.5 text-xs font-medium ${BADGE[tone]}`} data-testid="plan-action" data-action={action}>
      {ACTION_LABEL[tone] || action}
    </span>
  );
}

function Side({ text }: { text: string }) {
  const special = text === MASKED || text === UNKNOWN || text === '—';
  return <span className={special ? 'italic text-slate-500' : 'break-all font-mono'}>{text}</span>;
}

function ResourceDiff({ r }: { r: PlanResource }) {
  const forced = forcedBy(r);
  const attrs = r.attributes;
  return (
    <li
      className={`space-y-2 rounded-md border p-3 ${r.action === 'replace' ? 'border-red-300 bg-red-50/40' : 'border-slate-200'}`}
      data-testid="plan-resource"
      data-address={r.address}
    >
      <div className="flex flex-wrap items-center gap-2 text-sm">
        <span className="break-all font-mono text-xs text-slate-800">{r.address}</span>
        {r.type && <span className="text-xs text-slate-500">{r.type}</span>}
        <ActionBadge action={r.action} />
        {forced && (
          <span className="text-xs font-medium text-red-800" data-testid="plan-forced-by">
            {forced}
          </span>
        )}
      </div>
      {attrs && attrs.length > 0 && (
        <div className="overflow-x-auto">
          <table className="w-full text-left text-xs" aria-label={`Attribute changes of ${r.address}`}>
            <thead className="text-slate-600">
              <tr>
                <th scope="col" className="py-1 pr-3 font-medium">
                  Attribute
                </th>
                <th scope="col" className="py-1 pr-3 font-medium">
                  Before
                </th>
                <th scope="col" className="py-1 pr-1 font-medium" aria-hidden="true" />
                <th scope="col" className="py-1 font-medium">
                  After
                </th>
              </tr>
            </thead>
            <tbody>
              {attrs.map((a) => (
                <tr key={a.path} className="border-t border-slate-100 align-top" data-testid="plan-attr" data-path={a.path}>
                  <th scope="row" className="py-1 pr-3 font-mono font-normal text-slate-800">
                    {a.path}
                  </th>
                  <td className="py-1 pr-3 text-red-800" data-testid="plan-attr-before">
                    <Side text={attrSide(a, 'before')} />
                  </td>
                  <td className="py-1 pr-1 text-slate-400" aria-hidden="true">
                    →
                  </td>
                  <td className="py-1 text-green-800" data-testid="plan-attr-after">
                    <Side text={attrSide(a, 'after')} />
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

function CostChange({ cost }: { cost: PlanCost }) {
  const up = cost.delta_usd > 0.005, down = cost.delta_usd < -0.005;
  return (
    <p className="text-sm text-slate-700" data-testid="plan-cost">
      Monthly cost: {formatUsd(cost.before_usd)} → {formatUsd(cost.after_usd)}{' '}
      <span
        className={`font-medium ${up ? 'text-red-700' : down ? 'text-green-700' : 'text-slate-600'}`}
        data-testid="plan-cost-delta"
      >
        ({costDelta(cost)})
      </span>
    </p>
  );
}

/** What a plan changes: the cost, then per resource its action and attributes before → after. */
export function PlanDiff({ plan }: { plan: PlanSummary }) {
  const resources = plan.resources ?? [];
  if (resources.length === 0 && !plan.cost) return null;
  return (
    <div className="space-y-2" data-testid="plan-diff">
      {plan.cost && <CostChange cost={plan.cost} />}
      {resources.length > 0 && (
        <ul className="space-y-2" aria-label="Planned changes by resource">
          {resources.map((r) => (
            <ResourceDiff key={r.address} r={r} />
          ))}
        </ul>
      )}
    </div>
  );
}
