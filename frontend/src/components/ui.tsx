import { useId, type ReactNode } from 'react';
import type { ApiError } from '../api/client';

function Spinner({ label = 'Loading…' }: { label?: string }) {
  return (
    <span role="status" className="inline-flex items-center gap-2 text-sm text-slate-600">
      <span
        aria-hidden="true"
        className="h-4 w-4 animate-spin rounded-full border-2 border-slate-300 border-t-blue-700"
      />
      {label}
    </span>
  );
}

export function Loading({ label }: { label?: string }) {
  return (
    <div className="flex justify-center py-10" data-testid="loading">
      <Spinner label={label} />
    </div>
  );
}

export function ErrorAlert({
  error,
  onRetry,
  title,
}: {
  error: ApiError | Error | string | undefined | null;
  onRetry?: () => void;
  title?: string;
}) {
  if (!error) return null;
  const message = typeof error === 'string' ? error : error.message;
  return (
    <div role="alert" data-testid="error" className="rounded-md border border-red-300 bg-red-50 p-3 text-sm text-red-800">
      <div className="flex flex-wrap items-start justify-between gap-2">
        <div>
          {title && <p className="font-semibold">{title}</p>}
          <p>{message}</p>
        </div>
        {onRetry && (
          <button type="button" className="btn btn-secondary btn-sm" onClick={onRetry}>
            Try again
          </button>
        )}
      </div>
    </div>
  );
}

export function Notice({ children, tone = 'info', testId }: { children: ReactNode; tone?: 'info' | 'warn' | 'success'; testId?: string }) {
  const tones = {
    info: 'border-blue-200 bg-blue-50 text-blue-900',
    warn: 'border-amber-300 bg-amber-50 text-amber-900',
    success: 'border-green-300 bg-green-50 text-green-900',
  } as const;
  return (
    <div role={tone === 'warn' ? 'alert' : 'status'} data-testid={testId} className={`rounded-md border p-3 text-sm ${tones[tone]}`}>
      {children}
    </div>
  );
}

export function PageHeader({ title, subtitle, actions }: { title: ReactNode; subtitle?: ReactNode; actions?: ReactNode }) {
  return (
    <div className="mb-5 flex flex-wrap items-end justify-between gap-3">
      <div className="min-w-0">
        <h1 className="truncate text-xl font-semibold text-slate-900 sm:text-2xl">{title}</h1>
        {subtitle && <div className="mt-1 text-sm text-slate-600">{subtitle}</div>}
      </div>
      {actions && <div className="flex flex-wrap gap-2">{actions}</div>}
    </div>
  );
}

/**
 * A labelled form control with its hint and error. `children` receives the
 * id and aria attributes to put on the input.
 */
export function Field({
  label,
  error,
  hint,
  children,
  className,
}: {
  label: ReactNode;
  error?: string;
  hint?: ReactNode;
  className?: string;
  children: (props: { id: string; 'aria-invalid': boolean; 'aria-describedby': string | undefined }) => ReactNode;
}) {
  const id = useId();
  // A rule's description doubles as the hint and the error: show it once.
  const shownHint = error && typeof hint === 'string' && hint === error ? undefined : hint;
  const hintId = `${id}-hint`;
  const errId = `${id}-err`;
  const describedBy = [shownHint ? hintId : null, error ? errId : null].filter(Boolean).join(' ') || undefined;
  return (
    <div className={className}>
      <label htmlFor={id} className="label">
        {label}
      </label>
      {children({ id, 'aria-invalid': Boolean(error), 'aria-describedby': describedBy })}
      {shownHint && (
        <p id={hintId} className="hint">
          {shownHint}
        </p>
      )}
      {error && (
        <p id={errId} className="field-error" data-testid="field-error">
          {error}
        </p>
      )}
    </div>
  );
}

export function EmptyState({ title, children, actions, testId }: { title: string; children?: ReactNode; actions?: ReactNode; testId?: string }) {
  return (
    <div data-testid={testId} className="rounded-lg border border-dashed border-slate-300 bg-white px-4 py-10 text-center">
      <h2 className="text-lg font-semibold text-slate-900">{title}</h2>
      {children && <div className="mx-auto mt-2 max-w-md text-sm text-slate-600">{children}</div>}
      {actions && <div className="mt-5 flex flex-wrap justify-center gap-2">{actions}</div>}
    </div>
  );
}

export function SimulatedTag() {
  return (
    <span
      data-testid="simulated"
      title="Sandbox resources are simulated: nothing is created in a real cloud."
      className="inline-flex items-center rounded border border-violet-300 bg-violet-50 px-1.5 py-0.5 text-xs font-medium text-violet-800"
    >
      simulated
    </span>
  );
}

/** A set of checkboxes over options, each shown as its code and a line of text; value is the chosen subset. */
export function CheckboxSet<T extends string>({
  options,
  value,
  onChange,
  text,
}: {
  options: readonly T[];
  value: T[];
  onChange: (v: T[]) => void;
  text: Record<T, string>;
}) {
  return (
    <div className="grid gap-1 sm:grid-cols-2">
      {options.map((o) => (
        <label key={o} className="flex items-start gap-2 text-sm">
          <input
            type="checkbox"
            className="mt-0.5"
            checked={value.includes(o)}
            onChange={(ev) => onChange(ev.target.checked ? [...value, o] : value.filter((x) => x !== o))}
          />
          <span>
            <code className="text-xs">{o}</code>
            <span className="block text-xs text-slate-600">{text[o]}</span>
          </span>
        </label>
      ))}
    </div>
  );
}
