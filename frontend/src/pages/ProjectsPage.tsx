import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { Link, useNavigate, useSearchParams } from 'react-router';
import type { z } from 'zod';
import { api, listAllProjects } from '../api/endpoints';
import { useAsync } from '../lib/useAsync';
import { applyApiError } from '../lib/formErrors';
import { parseBudget, projectSchema } from '../lib/schemas';
import { formatUsd, humanize } from '../lib/format';
import { EmptyState, ErrorAlert, Field, Loading, PageHeader } from '../components/ui';

type Values = z.infer<typeof projectSchema>;

export function ProjectForm({ onCreated, submitLabel = 'Create project' }: { onCreated: (id: string) => void; submitLabel?: string }) {
  const [formError, setFormError] = useState('');
  const {
    register,
    handleSubmit,
    setError,
    formState: { errors, isSubmitting },
  } = useForm<Values>({
    resolver: zodResolver(projectSchema),
    defaultValues: { name: '', require_approval: false, monthly_budget_usd: '' },
  });
  const onSubmit = handleSubmit(async (v) => {
    setFormError('');
    try {
      const p = await api.createProject({
        name: v.name.trim(),
        require_approval: v.require_approval,
        monthly_budget_usd: parseBudget(v.monthly_budget_usd),
      });
      onCreated(p.id);
    } catch (e) {
      const { message } = applyApiError(e, setError, ['name', 'require_approval', 'monthly_budget_usd']);
      if (message) setFormError(message);
    }
  });
  return (
    <form onSubmit={onSubmit} noValidate className="space-y-4" data-testid="project-form">
      <Field label="Project name" error={errors.name?.message}>
        {(p) => <input {...p} {...register('name')} className="input" autoComplete="off" />}
      </Field>
      <Field
        label="Monthly budget (USD)"
        error={errors.monthly_budget_usd?.message}
        hint="Optional. New resources warn before they would go over it."
      >
        {(p) => <input {...p} {...register('monthly_budget_usd')} inputMode="decimal" className="input" placeholder="e.g. 250" />}
      </Field>
      <div className="flex items-start gap-2">
        <input id="require-approval-new" type="checkbox" {...register('require_approval')} className="mt-0.5 h-4 w-4 rounded border-slate-300" />
        <label htmlFor="require-approval-new" className="text-sm text-slate-800">
          Require approval
          <span className="block text-xs text-slate-600">Every change waits for an owner or admin to approve its plan.</span>
        </label>
      </div>
      <ErrorAlert error={formError} />
      <button type="submit" className="btn btn-primary" disabled={isSubmitting}>
        {isSubmitting ? 'Creating…' : submitLabel}
      </button>
    </form>
  );
}

export function ProjectsPage() {
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const showForm = params.get('new') === '1';
  const projects = useAsync(listAllProjects, 'projects');

  return (
    <div>
      <PageHeader
        title="Projects"
        subtitle="Projects hold cloud accounts, resources, members and a budget."
        actions={
          !showForm && (
            <button type="button" className="btn btn-primary" onClick={() => setParams({ new: '1' })}>
              New project
            </button>
          )
        }
      />
      {showForm && (
        <section className="card mb-6 max-w-xl" aria-labelledby="new-project-title">
          <div className="mb-3 flex items-center justify-between">
            <h2 id="new-project-title" className="text-base font-semibold">
              New project
            </h2>
            <button type="button" className="btn btn-ghost btn-sm" onClick={() => setParams({})}>
              Cancel
            </button>
          </div>
          <ProjectForm onCreated={(id) => navigate(`/projects/${id}/accounts`)} />
        </section>
      )}
      {projects.loading && !projects.data && <Loading />}
      <ErrorAlert error={projects.error} onRetry={projects.reload} />
      {projects.data && projects.data.length === 0 && !showForm && (
        <EmptyState
          title="No projects yet"
          actions={
            <button type="button" className="btn btn-primary" onClick={() => setParams({ new: '1' })}>
              Create a project
            </button>
          }
        >
          Create a project, then add a cloud account to it.
        </EmptyState>
      )}
      {projects.data && projects.data.length > 0 && (
        <ul className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3" data-testid="project-list">
          {projects.data.map((p) => (
            <li key={p.id} className="card">
              <div className="flex items-start justify-between gap-2">
                <Link to={`/projects/${p.id}`} className="link truncate text-base">
                  {p.name}
                </Link>
                <span className="rounded bg-slate-100 px-1.5 py-0.5 text-xs text-slate-700">{humanize(p.role)}</span>
              </div>
              <dl className="mt-3 grid grid-cols-2 gap-1 text-sm">
                <dt className="text-slate-600">Budget</dt>
                <dd className="text-right">{p.monthly_budget_usd === null ? 'none' : formatUsd(p.monthly_budget_usd)}</dd>
                <dt className="text-slate-600">Used this month</dt>
                <dd className="text-right">{formatUsd(p.budget_used_usd)}</dd>
                <dt className="text-slate-600">Approval</dt>
                <dd className="text-right">{p.require_approval ? 'required' : 'not required'}</dd>
              </dl>
              <div className="mt-3 flex flex-wrap gap-3 text-sm">
                <Link to={`/resources?project_id=${encodeURIComponent(p.id)}`} className="link">
                  Resources
                </Link>
                <Link to={`/projects/${p.id}/accounts`} className="link">
                  Accounts
                </Link>
                <Link to={`/projects/${p.id}/members`} className="link">
                  Members
                </Link>
              </div>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
