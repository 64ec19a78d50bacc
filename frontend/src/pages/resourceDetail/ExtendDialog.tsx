import { useState } from 'react';
import { api } from '../../api/endpoints';
import { errorMessage } from '../../api/client';
import type { Resource } from '../../api/types';
import { durationProblem, parseDuration } from '../../lib/duration';
import { formatDateTime } from '../../lib/format';
import { useNow } from '../../lib/useNow';
import { Dialog } from '../../components/Dialog';
import { ErrorAlert, Field } from '../../components/ui';

const CHOICES = ['1h', '8h', '24h'] as const;

/** Pushes the expiry back by a duration; the server's refusal (past the project maximum) shows here. */
export function ExtendDialog({
  resource,
  open,
  onClose,
  onDone,
}: {
  resource: Resource;
  open: boolean;
  onClose: () => void;
  onDone: (r: Resource) => void;
}) {
  const now = useNow();
  const [choice, setChoice] = useState<string>('24h');
  const [custom, setCustom] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const by = choice === 'custom' ? custom.trim() : choice;
  const problem = durationProblem(by);
  const seconds = problem ? null : parseDuration(by);
  const current = resource.expires_at;
  // The server extends from the expiry, or from now once it has passed.
  const base = current ? Math.max(new Date(current).getTime(), now) : null;
  const newExpiry = base !== null && seconds !== null ? new Date(base + seconds * 1000).toISOString() : null;
  const customError = choice === 'custom' && custom.trim() !== '' && problem ? problem : undefined;

  const submit = async () => {
    if (seconds === null) return;
    setBusy(true);
    setError('');
    try {
      const r = await api.extendResource(resource.id, by);
      onDone(r);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  const close = () => {
    setError('');
    onClose();
  };

  return (
    <Dialog open={open} onClose={close} title={`Extend ${resource.name}`} testId="extend-dialog">
      <form
        className="space-y-4"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <p className="text-sm text-slate-700">Now expires {formatDateTime(current)}.</p>
        <fieldset>
          <legend className="label">Extend by</legend>
          <div className="flex flex-wrap gap-2">
            {[...CHOICES, 'custom'].map((c) => (
              <label key={c} className="flex cursor-pointer items-center gap-1.5 rounded-md border border-slate-200 px-3 py-1.5 text-sm has-[:checked]:border-blue-600 has-[:checked]:bg-blue-50">
                <input type="radio" name="extend-by" value={c} checked={choice === c} onChange={() => setChoice(c)} />
                {c === 'custom' ? 'Custom' : c}
              </label>
            ))}
          </div>
        </fieldset>
        {choice === 'custom' && (
          <Field label="Duration" error={customError} hint="e.g. 2d or 36h">
            {(p) => <input {...p} className="input max-w-xs font-mono" value={custom} onChange={(e) => setCustom(e.target.value)} autoComplete="off" />}
          </Field>
        )}
        {newExpiry && (
          <p className="text-sm text-slate-700" aria-live="polite" data-testid="extend-new-expiry">
            New expiry: {formatDateTime(newExpiry)}
          </p>
        )}
        <ErrorAlert error={error} />
        <div className="flex justify-end gap-2">
          <button type="button" className="btn btn-secondary" onClick={close}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy || seconds === null}>
            {busy ? 'Extending…' : 'Extend'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
