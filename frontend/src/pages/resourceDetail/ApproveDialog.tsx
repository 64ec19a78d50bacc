import { useState } from 'react';
import { api } from '../../api/endpoints';
import { errorMessage } from '../../api/client';
import type { Run } from '../../api/types';
import { Dialog } from '../../components/Dialog';
import { ErrorAlert } from '../../components/ui';

export const REASON_MIN = 3;
export const REASON_MAX = 1000;

/** Approving a plan that breaks a soft guardrail: the reason is required, and audited with the override. */
export function ApproveDialog({
  run,
  open,
  onClose,
  onDone,
}: {
  run: Run;
  open: boolean;
  onClose: () => void;
  onDone: (run: Run) => void;
}) {
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const trimmed = reason.trim();
  const valid = trimmed.length >= REASON_MIN && trimmed.length <= REASON_MAX;

  const submit = async () => {
    if (!valid) return;
    setBusy(true);
    setError('');
    try {
      onDone(await api.approveRun(run.id, trimmed));
      setReason('');
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog open={open} onClose={onClose} title="Approve with an override" testId="approve-dialog">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
        className="space-y-4"
      >
        <p className="text-sm text-slate-700">
          The plan breaks a soft guardrail (see the checks in the run). Approving it overrides the rule; the reason is kept in the audit log.
        </p>
        <div>
          <label htmlFor="approve-reason" className="label">
            Reason
          </label>
          <textarea
            id="approve-reason"
            className="input min-h-20"
            value={reason}
            maxLength={REASON_MAX}
            required
            onChange={(e) => setReason(e.target.value)}
            aria-describedby="approve-reason-hint"
          />
          <p id="approve-reason-hint" className="mt-1 text-xs text-slate-600">
            At least {REASON_MIN} characters.
          </p>
        </div>
        <ErrorAlert error={error} />
        <div className="flex justify-end gap-2">
          <button type="button" className="btn btn-secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={!valid || busy}>
            {busy ? 'Approving…' : 'Override and approve'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
