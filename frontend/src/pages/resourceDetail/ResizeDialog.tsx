import { useState } from 'react';
import { api, loadCatalog } from '../../api/endpoints';
import { errorMessage } from '../../api/client';
import type { Resource, Run } from '../../api/types';
import { useAsync } from '../../lib/useAsync';
import { formatUsd, formatUsdPrecise } from '../../lib/format';
import { HOURS_PER_MONTH } from '../../lib/cost';
import { Dialog } from '../../components/Dialog';
import { ErrorAlert, Loading } from '../../components/ui';

/** Picks another size from the catalog and starts an update run. */
export function ResizeDialog({
  resource,
  open,
  onClose,
  onDone,
}: {
  resource: Resource;
  open: boolean;
  onClose: () => void;
  onDone: (run: Run, r: Resource) => void;
}) {
  const catalog = useAsync(loadCatalog, 'catalog', open);
  const kind = catalog.data?.clouds.find((c) => c.id === resource.cloud)?.kinds.find((k) => k.id === resource.kind);
  const sizes = kind?.sizes ?? [];
  const [size, setSize] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const current = sizes.find((s) => s.id === resource.size);
  const chosen = sizes.find((s) => s.id === size);

  const submit = async () => {
    if (!size || size === resource.size) return;
    setBusy(true);
    setError('');
    try {
      const r = await api.resizeResource(resource.id, size);
      onDone(r.run, r.resource);
      setSize('');
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog open={open} onClose={onClose} title={`Resize ${resource.name}`} testId="resize-dialog">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
        className="space-y-4"
      >
        {catalog.loading && !catalog.data && <Loading />}
        <ErrorAlert error={catalog.error} onRetry={catalog.reload} />
        {sizes.length > 0 && (
          <fieldset>
            <legend className="label">New size (now {resource.size ?? '—'})</legend>
            <div className="max-h-72 space-y-1 overflow-auto">
              {sizes.map((s) => (
                <label
                  key={s.id}
                  className={`flex cursor-pointer flex-wrap items-center justify-between gap-x-3 gap-y-1 rounded-md border border-slate-200 p-2 text-sm has-[:checked]:border-blue-600 has-[:checked]:bg-blue-50 ${
                    s.id === resource.size ? 'opacity-60' : ''
                  }`}
                >
                  <span className="flex min-w-0 items-center gap-2">
                    <input
                      type="radio"
                      name="size"
                      value={s.id}
                      checked={size === s.id}
                      disabled={s.id === resource.size}
                      onChange={() => setSize(s.id)}
                    />
                    <span className="font-medium">{s.id}</span>
                    <span className="whitespace-nowrap text-xs text-slate-600">
                      {s.vcpu} vCPU · {s.memory_gib} GiB
                    </span>
                  </span>
                  <span className="ml-6 whitespace-nowrap text-xs tabular-nums text-slate-700 sm:ml-0">
                    {formatUsdPrecise(s.hourly_usd)}/h · {formatUsd(s.hourly_usd * HOURS_PER_MONTH)}/mo
                  </span>
                </label>
              ))}
            </div>
          </fieldset>
        )}
        {chosen && (
          <p className="text-sm text-slate-700" aria-live="polite">
            Monthly cost {formatUsd((current?.hourly_usd ?? 0) * HOURS_PER_MONTH)} → {formatUsd(chosen.hourly_usd * HOURS_PER_MONTH)}. Resizing
            may restart the machine.
          </p>
        )}
        <ErrorAlert error={error} />
        <div className="flex justify-end gap-2">
          <button type="button" className="btn btn-secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={!size || busy}>
            {busy ? 'Resizing…' : 'Resize'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
