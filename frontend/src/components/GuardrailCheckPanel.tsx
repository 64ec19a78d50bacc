import type { GuardrailCheck } from '../api/types';
import { groupChecks, ruleTitle } from '../lib/guardrails';

function CheckRow({ c, tone }: { c: GuardrailCheck; tone: 'red' | 'amber' | 'plain' }) {
  const cls =
    tone === 'red'
      ? 'border-red-300 bg-red-50 text-red-900'
      : tone === 'amber'
        ? 'border-amber-300 bg-amber-50 text-amber-900'
        : 'border-slate-200 text-slate-700';
  return (
    <li className={`rounded-md border p-2 text-sm ${cls}`} data-testid="guardrail-check" data-rule={c.rule} data-level={c.level} data-outcome={c.outcome}>
      <span className="font-medium">{ruleTitle(c.rule)}</span>
      <span className="ml-1 text-xs uppercase tracking-wide opacity-80">{c.level}</span>
      <span className="block">{c.message}</span>
      {c.address && <span className="block font-mono text-xs">{c.address}</span>}
    </li>
  );
}

/**
 * What the project's guardrails say about an order: broken soft and hard
 * rules in red, broken advisory ones in amber, passing ones collapsed.
 */
export function GuardrailCheckPanel({
  checks,
  checking = false,
  title = 'Guardrails',
  testId = 'guardrail-panel',
}: {
  checks: readonly GuardrailCheck[];
  checking?: boolean;
  title?: string;
  testId?: string;
}) {
  const g = groupChecks(checks);
  const state = g.hardBlocked ? 'hard' : g.softOnly ? 'soft' : g.warnings.length > 0 ? 'warned' : 'ok';
  return (
    <section className="card text-sm" aria-labelledby={`${testId}-title`} aria-live="polite" data-testid={testId} data-state={state} data-checking={checking ? 'true' : 'false'}>
      <h2 id={`${testId}-title`} className="mb-2 flex items-center justify-between text-sm font-semibold text-slate-700">
        {title}
        {checking && <span className="text-xs font-normal text-slate-500">checking…</span>}
      </h2>
      {checks.length === 0 ? (
        <p className="text-slate-600">{checking ? 'Checking the project’s rules…' : 'This project has no guardrails.'}</p>
      ) : (
        <div className="space-y-2">
          {(g.blocking.length > 0 || g.warnings.length > 0) && (
            <ul className="space-y-2">
              {g.blocking.map((c, i) => (
                <CheckRow key={`b${i}`} c={c} tone="red" />
              ))}
              {g.warnings.map((c, i) => (
                <CheckRow key={`w${i}`} c={c} tone="amber" />
              ))}
            </ul>
          )}
          {g.passing.length > 0 && (
            <details data-testid="guardrail-passing">
              <summary className="cursor-pointer text-green-800">
                {g.passing.length === 1 ? '1 rule passes' : `${g.passing.length} rules pass`}
              </summary>
              <ul className="mt-2 space-y-1">
                {g.passing.map((c, i) => (
                  <CheckRow key={`p${i}`} c={c} tone="plain" />
                ))}
              </ul>
            </details>
          )}
        </div>
      )}
    </section>
  );
}
