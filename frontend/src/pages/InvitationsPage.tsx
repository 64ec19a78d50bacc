import { useState } from 'react';
import { useNavigate } from 'react-router';
import { api } from '../api/endpoints';
import { errorMessage } from '../api/client';
import type { Invitation } from '../api/types';
import { useAsync } from '../lib/useAsync';
import { humanize } from '../lib/format';
import { ErrorAlert, Loading, Notice } from '../components/ui';

/** The signed-in user's pending invitations, to accept or decline. */
export function InvitationsPage() {
  const navigate = useNavigate();
  const list = useAsync(() => api.myInvitations(), 'my-invitations');
  const [busy, setBusy] = useState<string | null>(null);
  const [rowError, setRowError] = useState<{ id: string; message: string } | null>(null);

  const act = async (inv: Invitation, accept: boolean) => {
    setRowError(null);
    setBusy(inv.id);
    try {
      if (accept) {
        const p = await api.acceptInvitation(inv.id);
        void navigate(`/projects/${encodeURIComponent(p.id)}`);
        return;
      }
      await api.declineInvitation(inv.id);
      list.reload();
    } catch (e) {
      setRowError({ id: inv.id, message: errorMessage(e) });
    } finally {
      setBusy(null);
    }
  };

  return (
    <div className="space-y-5">
      <h1 className="text-xl font-semibold">Invitations</h1>
      {list.loading && !list.data && <Loading />}
      <ErrorAlert error={list.error} onRetry={list.reload} />
      {list.data && list.data.items.length === 0 && <Notice testId="no-invitations">No pending invitations.</Notice>}
      {list.data && list.data.items.length > 0 && (
        <ul className="space-y-3" data-testid="my-invitations">
          {list.data.items.map((inv) => (
            <li key={inv.id} className="card flex flex-wrap items-center justify-between gap-3" data-testid={`invitation-${inv.project_name}`}>
              <div>
                <div className="font-medium text-slate-900">{inv.project_name}</div>
                <div className="text-xs text-slate-600">
                  as {humanize(inv.role)}
                  {inv.invited_by?.email ? `, invited by ${inv.invited_by.email}` : ''}
                </div>
                {rowError?.id === inv.id && (
                  <p role="alert" className="field-error">
                    {rowError.message}
                  </p>
                )}
              </div>
              <div className="flex gap-2">
                <button type="button" className="btn btn-secondary btn-sm" disabled={busy === inv.id} onClick={() => void act(inv, false)}>
                  Decline
                </button>
                <button type="button" className="btn btn-primary btn-sm" disabled={busy === inv.id} onClick={() => void act(inv, true)}>
                  Accept
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
