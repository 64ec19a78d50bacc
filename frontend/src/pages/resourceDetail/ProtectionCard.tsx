import { useState } from 'react';
import { api } from '../../api/endpoints';
import { errorMessage } from '../../api/client';
import type { Resource } from '../../api/types';
import { ErrorAlert } from '../../components/ui';

export function ProtectedBadge() {
  return (
    <span
      data-testid="resource-protected"
      title="Cannot be destroyed or replaced until an owner or admin lifts the protection."
      className="inline-flex items-center gap-1 rounded border border-indigo-300 bg-indigo-50 px-1.5 py-0.5 text-xs font-medium text-indigo-800"
    >
      <svg aria-hidden="true" viewBox="0 0 20 20" className="h-3 w-3" fill="currentColor">
        <path d="M10 1 3 4v5c0 4.4 3 8.4 7 10 4-1.6 7-5.6 7-10V4l-7-3Z" />
      </svg>
      Protected
    </span>
  );
}

/** Whether the resource is protected, and for owners and admins the switch (PUT /resources/{id}/protection). */
export function ProtectionCard({ resource, canToggle, onChanged }: { resource: Resource; canToggle: boolean; onChanged: (r: Resource) => void }) {
  // The switch shows the asked-for state while the request runs.
  const [pending, setPending] = useState<boolean | null>(null);
  const [error, setError] = useState('');
  const busy = pending !== null;
  const toggle = async () => {
    const want = !resource.protected;
    setPending(want);
    setError('');
    try {
      onChanged(await api.setProtection(resource.id, want));
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setPending(null);
    }
  };
  return (
    <section className="card" aria-labelledby="protection-title" data-testid="protection-card">
      <h2 id="protection-title" className="mb-2 text-base font-semibold">
        Protection
      </h2>
      <p className="text-sm text-slate-700">
        {resource.protected
          ? 'Protected: it cannot be destroyed, and a plan that would destroy or replace it is blocked.'
          : 'Not protected: it can be destroyed or replaced by a run.'}
      </p>
      {canToggle ? (
        <label className="mt-3 flex items-center gap-2 text-sm">
          <input
            type="checkbox"
            role="switch"
            checked={pending ?? resource.protected}
            disabled={busy}
            onChange={() => void toggle()}
            data-testid="protection-toggle"
          />
          Protect this resource
        </label>
      ) : (
        <p className="mt-2 text-xs text-slate-600">Only owners and admins can change the protection.</p>
      )}
      <div className="mt-2">
        <ErrorAlert error={error} />
      </div>
    </section>
  );
}
