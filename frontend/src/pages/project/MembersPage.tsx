import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import type { z } from 'zod';
import { api } from '../../api/endpoints';
import { errorMessage } from '../../api/client';
import { ROLES, type Invitation, type Member, type Role } from '../../api/types';
import { useAsync } from '../../lib/useAsync';
import { useAuth } from '../../lib/authContext';
import { applyApiError } from '../../lib/formErrors';
import { memberSchema } from '../../lib/schemas';
import { canManage } from '../../lib/projects';
import { humanize } from '../../lib/format';
import { Dialog } from '../../components/Dialog';
import { ErrorAlert, Field, Loading, Notice } from '../../components/ui';
import { useProject } from './context';

type Values = z.infer<typeof memberSchema>;

const ROLE_HELP: Record<Role, string> = {
  owner: 'everything, including deleting the project',
  admin: 'manage members, accounts and settings; approve runs',
  member: 'create, resize and destroy resources',
  viewer: 'read only',
};

function InviteForm({ projectId, onInvited }: { projectId: string; onInvited: (email: string) => void }) {
  const [formError, setFormError] = useState('');
  const {
    register,
    handleSubmit,
    setError,
    reset,
    formState: { errors, isSubmitting },
  } = useForm<Values>({ resolver: zodResolver(memberSchema), defaultValues: { email: '', role: 'member' } });
  const onSubmit = handleSubmit(async (v) => {
    setFormError('');
    try {
      const inv = await api.invite(projectId, { email: v.email.trim(), role: v.role });
      reset({ email: '', role: v.role });
      onInvited(inv.email);
    } catch (e) {
      const { message } = applyApiError(e, setError, ['email', 'role']);
      if (message) setFormError(message);
    }
  });
  return (
    <form onSubmit={onSubmit} noValidate className="space-y-3" data-testid="invite-form">
      <div className="grid gap-3 sm:grid-cols-[1fr_10rem_auto] sm:items-start">
        <Field label="Email" error={errors.email?.message} hint="They get a link to join, with or without an account.">
          {(p) => <input {...p} {...register('email')} type="email" autoComplete="off" className="input" />}
        </Field>
        <Field label="Role" error={errors.role?.message}>
          {(p) => (
            <select {...p} {...register('role')} className="input">
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {humanize(r)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <button type="submit" className="btn btn-primary sm:mt-6" disabled={isSubmitting}>
          {isSubmitting ? 'Inviting…' : 'Invite'}
        </button>
      </div>
      <ErrorAlert error={formError} />
    </form>
  );
}

function PendingInvitations({ projectId, version }: { projectId: string; version: number }) {
  const list = useAsync(() => api.listInvitations(projectId), `invitations:${projectId}:${version}`);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState('');
  const revoke = async (inv: Invitation) => {
    setError('');
    setBusy(inv.id);
    try {
      await api.revokeInvitation(projectId, inv.id);
      list.reload();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(null);
    }
  };
  if (list.loading && !list.data) return <Loading />;
  return (
    <div className="space-y-2">
      <ErrorAlert error={list.error ?? error} onRetry={list.error ? list.reload : undefined} />
      {list.data && list.data.items.length === 0 && <p className="text-sm text-slate-600">No pending invitations.</p>}
      {list.data && list.data.items.length > 0 && (
        <ul className="divide-y divide-slate-100" data-testid="pending-invitations">
          {list.data.items.map((inv) => (
            <li key={inv.id} className="flex items-center justify-between gap-3 py-2" data-testid={`pending-${inv.email}`}>
              <div>
                <div className="text-sm font-medium text-slate-900">{inv.email}</div>
                <div className="text-xs text-slate-600">
                  {humanize(inv.role)}, expires {new Date(inv.expires_at).toLocaleDateString()}
                </div>
              </div>
              <button
                type="button"
                className="btn btn-ghost btn-sm text-red-700"
                disabled={busy === inv.id}
                onClick={() => void revoke(inv)}
                aria-label={`Revoke the invitation of ${inv.email}`}
              >
                Revoke
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function MembersPage() {
  const { project } = useProject();
  const { user } = useAuth();
  const manage = canManage(project.role);
  const members = useAsync(() => api.listMembers(project.id), `members:${project.id}`);
  const [rowError, setRowError] = useState<{ userId: string; message: string } | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [removing, setRemoving] = useState<Member | null>(null);
  const [invited, setInvited] = useState<string | null>(null);
  const [invitations, setInvitations] = useState(0);

  const changeRole = async (m: Member, role: Role) => {
    setRowError(null);
    setBusy(m.user_id);
    try {
      await api.updateMember(project.id, m.user_id, role);
      members.setData((prev) => prev && { ...prev, items: prev.items.map((x) => (x.user_id === m.user_id ? { ...x, role } : x)) });
    } catch (e) {
      setRowError({ userId: m.user_id, message: errorMessage(e) });
    } finally {
      setBusy(null);
    }
  };

  const remove = async (m: Member) => {
    setRowError(null);
    setBusy(m.user_id);
    try {
      await api.removeMember(project.id, m.user_id);
      setRemoving(null);
      members.reload();
    } catch (e) {
      setRemoving(null);
      setRowError({ userId: m.user_id, message: errorMessage(e) });
    } finally {
      setBusy(null);
    }
  };

  return (
    <div className="space-y-5">
      {manage ? (
        <>
          <section className="card" aria-labelledby="invite-title">
            <h2 id="invite-title" className="mb-3 text-base font-semibold">
              Invite someone
            </h2>
            <InviteForm
              projectId={project.id}
              onInvited={(email) => {
                setInvited(email);
                setInvitations((n) => n + 1);
              }}
            />
            {invited && (
              <div className="mt-3">
                <Notice tone="success" testId="invite-sent">
                  Invitation sent to {invited}. They join once they accept it.
                </Notice>
              </div>
            )}
          </section>
          <section className="card" aria-labelledby="pending-title">
            <h2 id="pending-title" className="mb-3 text-base font-semibold">
              Pending invitations
            </h2>
            <PendingInvitations projectId={project.id} version={invitations} />
          </section>
        </>
      ) : (
        <Notice>Only owners and admins can change members.</Notice>
      )}

      <section className="card p-0 sm:p-0" aria-labelledby="members-title">
        <h2 id="members-title" className="px-4 pt-4 text-base font-semibold sm:px-5">
          Members
        </h2>
        {members.loading && !members.data && <Loading />}
        <div className="px-4 sm:px-5">
          <ErrorAlert error={members.error} onRetry={members.reload} />
        </div>
        {members.data && (
          <div className="mt-2 relative overflow-x-auto">
            <table className="table-base" data-testid="members-table">
              <thead className="bg-slate-50">
                <tr>
                  <th scope="col">Member</th>
                  <th scope="col">Role</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {members.data.items.map((m) => (
                  <tr key={m.user_id} data-testid={`member-${m.email}`}>
                    <td>
                      <div className="font-medium text-slate-900">
                        {m.name || m.email}
                        {user?.id === m.user_id && <span className="ml-1 text-xs font-normal text-slate-500">(you)</span>}
                      </div>
                      <div className="text-xs text-slate-600">{m.email}</div>
                      {rowError?.userId === m.user_id && (
                        <p role="alert" className="field-error">
                          {rowError.message}
                        </p>
                      )}
                    </td>
                    <td>
                      {manage ? (
                        <>
                          <label htmlFor={`role-${m.user_id}`} className="sr-only">
                            Role of {m.email}
                          </label>
                          <select
                            id={`role-${m.user_id}`}
                            className="input w-32"
                            value={m.role}
                            disabled={busy === m.user_id}
                            onChange={(e) => void changeRole(m, e.target.value as Role)}
                          >
                            {ROLES.map((r) => (
                              <option key={r} value={r}>
                                {humanize(r)}
                              </option>
                            ))}
                          </select>
                        </>
                      ) : (
                        humanize(m.role)
                      )}
                      <p className="mt-1 hidden text-xs text-slate-500 sm:block">{ROLE_HELP[m.role]}</p>
                    </td>
                    <td className="text-right">
                      {manage && (
                        <button
                          type="button"
                          className="btn btn-ghost btn-sm text-red-700"
                          disabled={busy === m.user_id}
                          onClick={() => setRemoving(m)}
                          aria-label={`Remove ${m.email}`}
                        >
                          Remove
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <Dialog open={removing !== null} onClose={() => setRemoving(null)} title="Remove member?" testId="remove-member-dialog">
        <p className="text-sm text-slate-700">
          {removing?.email} will lose access to {project.name}.
        </p>
        <div className="mt-4 flex justify-end gap-2">
          <button type="button" className="btn btn-secondary" onClick={() => setRemoving(null)}>
            Cancel
          </button>
          <button
            type="button"
            className="btn btn-danger"
            disabled={busy !== null}
            onClick={() => removing && void remove(removing)}
          >
            Remove
          </button>
        </div>
      </Dialog>
    </div>
  );
}
