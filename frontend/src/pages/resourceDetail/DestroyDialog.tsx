import { useState } from 'react';
import { api } from '../../api/endpoints';
import { errorMessage } from '../../api/client';
import type { Resource, Run } from '../../api/types';
import { cloudLabel } from '../../lib/format';
import { Dialog } from '../../components/Dialog';
import { ErrorAlert } from '../../components/ui';

/** Asks for the resource name before a destroy run starts. */
export function DestroyDialog({
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
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const matches = typed === resource.name;
  const close = () => {
    setTyped('');
    setError('');
    onClose();
  };
  const submit = async () => {
    if (!matches) return;
    setBusy(true);
    setError('');
    try {
      const r = await api.destroyResource(resource.id);
      setTyped('');
      onDone(r.run, r.resource);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog open={open} onClose={close} title={`Destroy ${resource.name}?`} testId="destroy-dialog">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
        className="space-y-4"
      >
        <p className="text-sm text-slate-700">
          This deletes the {resource.kind === 'vm' ? 'virtual machine' : 'bucket and everything in it'} on{' '}
          {cloudLabel(resource.cloud)}. It cannot be undone.
        </p>
        <div>
          <label htmlFor="destroy-confirm" className="label">
            Type <span className="font-mono font-semibold">{resource.name}</span> to confirm
          </label>
          <input
            id="destroy-confirm"
            className="input font-mono"
            value={typed}
            onChange={(e) => setTyped(e.target.value)}
            autoComplete="off"
            spellCheck={false}
            data-testid="destroy-confirm-input"
          />
        </div>
        <ErrorAlert error={error} />
        <div className="flex justify-end gap-2">
          <button type="button" className="btn btn-secondary" onClick={close}>
            Keep it
          </button>
          <button type="submit" className="btn btn-danger" disabled={!matches || busy} data-testid="destroy-confirm">
            {busy ? 'Destroying…' : 'Destroy'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
