import type { GuardrailCheck, RunStatus } from '../api/types';
import { useAsync } from '../lib/useAsync';
import { loadRunChecks } from '../lib/runChecks';
import { CHECK_META, sortChecks, type CheckTone } from '../lib/planView';
import { humanize } from '../lib/format';
import { ErrorAlert } from './ui';

const TONE: Record<CheckTone, string> = {
  ok: 'border-slate-200 text-slate-700',
  warn: 'border-amber-300 bg-amber-50 text-amber-900',
  blocked: 'border-red-400 bg-red-50 font-medium text-red-900',
  overridden: 'border-violet-400 bg-violet-50 font-medium text-violet-900',
};

const ICON_TONE: Record<CheckTone, string> = {
  ok: 'bg-green-600',
  warn: 'bg-amber-500',
  blocked: 'bg-red-600',
  overridden: 'bg-violet-600',
};

/** The checks, the ones that stopped or were overridden first. */
export function GuardrailCheckList({ items }: { items: GuardrailCheck[] }) {
  if (items.length === 0) return null;
  return (
    <section aria-labelledby="checks-title" className="space-y-2" data-testid="run-checks">
      <h3 id="checks-title" className="text-sm font-semibold text-slate-800">
        Guardrail checks
      </h3>
      <ul className="space-y-1">
        {sortChecks(items).map((c, i) => {
          const meta = CHECK_META[c.outcome];
          return (
            <li
              key={`${c.stage}-${c.rule}-${c.address ?? ''}-${i}`}
              className={`flex items-start gap-2 rounded-md border p-2 text-sm ${TONE[meta.tone]}`}
              data-testid="run-check"
              data-outcome={c.outcome}
            >
              <span
                className={`mt-0.5 inline-flex h-4 w-4 flex-none items-center justify-center rounded-full text-[10px] font-bold text-white ${ICON_TONE[meta.tone]}`}
                aria-hidden="true"
              >
                {meta.icon}
              </span>
              <span className="min-w-0">
                <span className="sr-only">{meta.label}: </span>
                {c.message}
                <span className="block text-xs font-normal text-slate-600">
                  {humanize(c.rule)} · {c.level} · {c.stage === 'plan' ? 'on the plan' : 'on the order'}
                  {c.address && <> · {c.address}</>}
                  {c.outcome === 'overridden' && c.reason && <> · overridden: “{c.reason}”</>}
                </span>
              </span>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

/** The guardrail checks of one run, read again when its status changes (the plan's come with the plan). */
export function RunChecks({ runId, status }: { runId: string; status: RunStatus }) {
  const checks = useAsync(() => loadRunChecks(runId), `checks:${runId}:${status}`);
  return (
    <>
      <ErrorAlert error={checks.error} onRetry={checks.reload} />
      <GuardrailCheckList items={checks.data ?? []} />
    </>
  );
}
