import { useState } from 'react';
import { api } from '../api/endpoints';
import { errorMessage } from '../api/client';
import type { Account } from '../api/types';
import { cloudLabel, formatDateTime } from '../lib/format';
import { Dialog } from './Dialog';
import { ErrorAlert, SimulatedTag } from './ui';

export function AccountList({ accounts, canDelete, onDeleted }: { accounts: Account[]; canDelete: boolean; onDeleted: () => void }) {
  const [deleting, setDeleting] = useState<Account | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');

  const doDelete = async (a: Account) => {
    setBusy(true);
    setError('');
    try {
      await api.deleteAccount(a.id);
      setDeleting(null);
      onDeleted();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <div className="relative overflow-x-auto">
        <table className="table-base" data-testid="accounts-table">
          <thead className="bg-slate-50">
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Cloud</th>
              <th scope="col">Credentials</th>
              <th scope="col" className="hidden sm:table-cell">
                Added
              </th>
              {canDelete && (
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {accounts.map((a) => (
              <tr key={a.id} data-testid={`account-${a.name}`}>
                <td className="font-medium">{a.name}</td>
                <td>
                  <span className="inline-flex flex-wrap items-center gap-1.5">
                    {cloudLabel(a.cloud)}
                    {a.cloud === 'sandbox' && <SimulatedTag />}
                    {a.kind === 'workload_identity' && (
                      <span
                        className="rounded bg-emerald-50 px-1.5 py-0.5 text-xs text-emerald-800"
                        title={a.audience ? `Run tokens for audience ${a.audience}; no stored secret` : undefined}
                      >
                        workload identity
                      </span>
                    )}
                  </span>
                </td>
                <td className="font-mono text-xs text-slate-700">{a.hint ?? '—'}</td>
                <td className="hidden whitespace-nowrap text-slate-600 sm:table-cell">{formatDateTime(a.created_at)}</td>
                {canDelete && (
                  <td className="text-right">
                    <button
                      type="button"
                      className="btn btn-ghost btn-sm text-red-700"
                      onClick={() => {
                        setError('');
                        setDeleting(a);
                      }}
                      aria-label={`Delete account ${a.name}`}
                    >
                      Delete
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Dialog open={deleting !== null} onClose={() => setDeleting(null)} title={`Delete account ${deleting?.name ?? ''}?`} testId="delete-account-dialog">
        <p className="mb-3 text-sm text-slate-700">
          Its stored credentials are erased. An account that resources still use cannot be deleted.
        </p>
        <ErrorAlert error={error} />
        <div className="mt-4 flex justify-end gap-2">
          <button type="button" className="btn btn-secondary" onClick={() => setDeleting(null)}>
            Cancel
          </button>
          <button type="button" className="btn btn-danger" disabled={busy} onClick={() => deleting && void doDelete(deleting)}>
            {busy ? 'Deleting…' : 'Delete account'}
          </button>
        </div>
      </Dialog>
    </>
  );
}
