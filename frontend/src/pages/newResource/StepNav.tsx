import { STEPS } from './steps';

/** The numbered step buttons; a later step is reached only through the earlier ones' checks. */
export function StepNav({ step, onGoTo }: { step: number; onGoTo: (target: number) => void }) {
  return (
    <ol className="mb-5 flex gap-1 relative overflow-x-auto pb-1 text-sm" aria-label="Steps">
      {STEPS.map((label, i) => (
        <li key={label} className="shrink-0">
          <button
            type="button"
            onClick={() => onGoTo(i)}
            aria-current={i === step ? 'step' : undefined}
            className={`flex items-center gap-2 rounded-full px-3 py-1.5 ${
              i === step
                ? 'bg-blue-700 text-white'
                : i < step
                  ? 'bg-blue-50 text-blue-800 hover:bg-blue-100'
                  : 'bg-slate-100 text-slate-600 hover:bg-slate-200'
            }`}
          >
            <span className="tabular-nums">{i + 1}</span>
            {/* On narrow screens only the current step is named. */}
            <span className={i === step ? '' : 'sr-only sm:not-sr-only'}>{label}</span>
          </button>
        </li>
      ))}
    </ol>
  );
}
