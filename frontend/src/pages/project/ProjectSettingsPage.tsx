import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { useNavigate } from 'react-router';
import type { z } from 'zod';
import { api } from '../../api/endpoints';
import { errorMessage } from '../../api/client';
import { applyApiError } from '../../lib/formErrors';
import { parseBudget, projectSchema } from '../../lib/schemas';
import { canManage } from '../../lib/projects';
import { formatDateTime } from '../../lib/format';
import { BudgetMeter } from '../../components/BudgetMeter';
import { Dialog } from '../../components/Dialog';
import { ErrorAlert, Field, Notice } from '../../components/ui';
import { useProject } from './context';
import { LifecycleSettings } from './LifecycleSettings';
import { GuardrailsEditor } from './GuardrailsEditor';

type Values = z.infer<typeof projectSchema>;

export function ProjectSettingsPage() {
  const { project, reloadProject } = useProject();
  const navigate = useNavigate();
  const editable = canManage(project.role);
  const [formError, setFormError] = useState('');
  const [saved, setSaved] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [deleteError, setDeleteError] = useState('');
  const [deleting, setDeleting] = useState(false);

  const {
    register,
    handleSubmit,
    setError,
    formState: { errors, isSubmitting, isDirty },
    reset,
  } = useForm<Values>({
    resolver: zodResolver(projectSchema),
    values: {
      name: project.name,
      require_approval: project.require_approval,
      monthly_budget_usd: project.monthly_budget_usd === null ? '' : String(project.monthly_budget_usd),
    },
  });

  const onSubmit = handleSubmit(async (v) => {
    setFormError('');
    setSaved(false);
    try {
      const p = await api.updateProject(project.id, {
        name: v.name.trim(),
        require_approval: v.require_approval,
        monthly_budget_usd: parseBudget(v.monthly_budget_usd),
      });
      reset({
        name: p.name,
        require_approval: p.require_approval,
        monthly_budget_usd: p.monthly_budget_usd === null ? '' : String(p.monthly_budget_usd),
      });
      setSaved(true);
      reloadProject();
    } catch (e) {
      const { message } = applyApiError(e, setError, ['name', 'require_approval', 'monthly_budget_usd']);
      if (message) setFormError(message);
    }
  });

  const doDelete = async () => {
    setDeleting(true);
    setDeleteError('');
    try {
      await api.deleteProject(project.id);
      navigate('/projects', { replace: true });
    } catch (e) {
      setDeleteError(errorMessage(e));
    } finally {
      setDeleting(false);
    }
  };

  return (
    <div className="grid gap-5 lg:grid-cols-3">
      <section className="card lg:col-span-1" aria-labelledby="budget-title">
        <h2 id="budget-title" className="mb-3 text-base font-semibold">
          Budget
        </h2>
        <BudgetMeter used={project.budget_used_usd} budget={project.monthly_budget_usd} />
        <p className="mt-4 text-xs text-slate-600">Created {formatDateTime(project.created_at)}</p>
      </section>

      <section className="card lg:col-span-2" aria-labelledby="settings-title">
        <h2 id="settings-title" className="mb-3 text-base font-semibold">
          Settings
        </h2>
        {!editable && (
          <div className="mb-4">
            <Notice>Only owners and admins can change settings.</Notice>
          </div>
        )}
        <form onSubmit={onSubmit} noValidate className="space-y-4" data-testid="project-settings">
          <fieldset disabled={!editable} className="space-y-4">
            <Field label="Project name" error={errors.name?.message}>
              {(p) => <input {...p} {...register('name')} className="input" />}
            </Field>
            <Field
              label="Monthly budget (USD)"
              error={errors.monthly_budget_usd?.message}
              hint="Leave empty for no budget."
            >
              {(p) => <input {...p} {...register('monthly_budget_usd')} inputMode="decimal" className="input max-w-xs" />}
            </Field>
            <div className="flex items-start gap-2">
              <input
                id="require-approval"
                type="checkbox"
                role="switch"
                {...register('require_approval')}
                className="mt-0.5 h-4 w-4 rounded border-slate-300"
              />
              <label htmlFor="require-approval" className="text-sm text-slate-800">
                Require approval
                <span className="block text-xs text-slate-600">
                  Runs stop after planning until an owner or admin approves them.
                </span>
              </label>
            </div>
          </fieldset>
          <ErrorAlert error={formError} />
          {saved && !isDirty && <Notice tone="success">Settings saved.</Notice>}
          {editable && (
            <button type="submit" className="btn btn-primary" disabled={isSubmitting || !isDirty}>
              {isSubmitting ? 'Saving…' : 'Save settings'}
            </button>
          )}
        </form>
      </section>

      <LifecycleSettings project={project} editable={editable} onSaved={reloadProject} />

      <GuardrailsEditor projectId={project.id} editable={editable} />

      {project.role === 'owner' && (
        <section className="card border-red-200 lg:col-span-3" aria-labelledby="danger-title">
          <h2 id="danger-title" className="mb-2 text-base font-semibold text-red-800">
            Delete project
          </h2>
          <p className="mb-3 text-sm text-slate-700">
            A project can be deleted once all its resources are destroyed. Its accounts and audit log go with it.
          </p>
          <button type="button" className="btn btn-danger" onClick={() => setConfirmDelete(true)}>
            Delete project…
          </button>
        </section>
      )}
      <Dialog open={confirmDelete} onClose={() => setConfirmDelete(false)} title={`Delete ${project.name}?`} testId="delete-project-dialog">
        <p className="mb-4 text-sm text-slate-700">This cannot be undone.</p>
        <ErrorAlert error={deleteError} />
        <div className="mt-4 flex justify-end gap-2">
          <button type="button" className="btn btn-secondary" onClick={() => setConfirmDelete(false)}>
            Keep it
          </button>
          <button type="button" className="btn btn-danger" disabled={deleting} onClick={() => void doDelete()}>
            {deleting ? 'Deleting…' : 'Delete project'}
          </button>
        </div>
      </Dialog>
    </div>
  );
}
