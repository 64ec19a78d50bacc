import { useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { listAllProjects } from '../api/endpoints';
import type { Account } from '../api/types';
import { useAsync } from '../lib/useAsync';
import { canManage } from '../lib/projects';
import { AccountForm } from '../components/AccountForm';
import { ErrorAlert, Loading, Notice, PageHeader } from '../components/ui';
import { ProjectForm } from './ProjectsPage';

/** Onboarding: add a cloud account, creating a first project on the way if needed. */
export function AddAccountPage() {
  const [params, setParams] = useSearchParams();
  const projects = useAsync(listAllProjects, 'projects');
  const [added, setAdded] = useState<Account | null>(null);

  const manageable = (projects.data ?? []).filter((p) => canManage(p.role));
  const wanted = params.get('project_id');
  const projectId = manageable.find((p) => p.id === wanted)?.id ?? manageable[0]?.id ?? '';

  return (
    <div className="max-w-2xl">
      <PageHeader title="Add a cloud account" subtitle="Accounts belong to a project. Everyone in the project can use them." />
      {projects.loading && !projects.data && <Loading />}
      <ErrorAlert error={projects.error} onRetry={projects.reload} />

      {projects.data && manageable.length === 0 && (
        <section className="card" aria-labelledby="first-project-title">
          <h2 id="first-project-title" className="text-base font-semibold">
            First, name a project
          </h2>
          <p className="mb-4 mt-1 text-sm text-slate-600">
            A project groups cloud accounts, resources and the people who manage them.
          </p>
          <ProjectForm
            submitLabel="Create project and continue"
            onCreated={(id) => {
              setParams({ project_id: id }, { replace: true });
              projects.reload();
            }}
          />
        </section>
      )}

      {projectId && (
        <section className="card" aria-labelledby="account-title">
          <h2 id="account-title" className="sr-only">
            Account details
          </h2>
          {manageable.length > 1 && (
            <div className="mb-4">
              <label htmlFor="account-project" className="label">
                Project
              </label>
              <select
                id="account-project"
                className="input"
                value={projectId}
                onChange={(e) => setParams({ project_id: e.target.value }, { replace: true })}
              >
                {manageable.map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.name}
                  </option>
                ))}
              </select>
            </div>
          )}
          {manageable.length === 1 && (
            <p className="mb-4 text-sm text-slate-700">
              Project: <strong>{manageable[0]?.name}</strong>
            </p>
          )}
          {added && (
            <div className="mb-4">
              <Notice tone="success" testId="account-added">
                Account “{added.name}” added.{' '}
                <Link
                  className="link"
                  to={`/resources/new?project_id=${encodeURIComponent(added.project_id || projectId)}&account_id=${encodeURIComponent(added.id)}`}
                >
                  Create a resource with it
                </Link>
              </Notice>
            </div>
          )}
          <AccountForm key={projectId} projectId={projectId} onCreated={setAdded} />
        </section>
      )}
    </div>
  );
}
