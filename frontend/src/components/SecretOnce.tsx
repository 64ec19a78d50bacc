// A secret the server shows once (a new API token, a webhook's signing
// secret): shown with a copy button until the user says it is copied.
import type { ReactNode } from 'react';

import { CopyButton } from './CopyButton';
import { Notice } from './ui';

export function SecretOnce({
  title,
  value,
  label,
  testId,
  children,
  onDismiss,
}: {
  title: string;
  value: string;
  label: string;
  testId: string;
  children: ReactNode;
  onDismiss: () => void;
}) {
  const titleId = `${testId}-title`;
  return (
    <section className="card border-amber-300" aria-labelledby={titleId} data-testid={testId}>
      <h2 id={titleId} className="mb-2 text-base font-semibold">
        {title}
      </h2>
      <Notice tone="warn">Copy it now: it is not shown again. {children}</Notice>
      <div className="mt-3 flex items-center justify-between gap-2">
        <code className="min-w-0 break-all rounded bg-slate-100 px-2 py-1 text-sm" data-testid={`${testId}-value`}>
          {value}
        </code>
        <CopyButton value={value} label={label} />
      </div>
      <button type="button" className="btn btn-primary btn-sm mt-3" onClick={onDismiss}>
        I have copied it
      </button>
    </section>
  );
}
