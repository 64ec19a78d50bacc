import { useState } from 'react';
import { Link } from 'react-router';
import { api } from '../../api/endpoints';
import type { Account } from '../../api/types';
import { useAsync } from '../../lib/useAsync';
import { canManage, canOrder } from '../../lib/projects';
import { AccountForm } from '../../components/AccountForm';
import { AccountList } from '../../components/AccountList';
import { EmptyState, ErrorAlert, Loading, Notice } from '../../components/ui';
import { useProject } from './context';

export function AccountsPage() {
  const { project } = useProject();
  const manage = canManage(project.role);
  const accounts = useAsync(() => api.listAccounts(project.id), `accounts:${project.id}`);
  const [added, setAdded] = useState<Account | null>(null);

  return (
    <div className="grid gap-5 lg:grid-cols-5">
      <section className="lg:col-span-3" aria-labelledby="accounts-title">
        <h2 id="accounts-title" className="mb-3 text-base font-semibold">
          Cloud accounts
        </h2>
        {accounts.loading && !accounts.data && <Loading />}
        <ErrorAlert error={accounts.error} onRetry={accounts.reload} />
        {accounts.data && accounts.data.items.length === 0 && (
          <EmptyState title="No cloud accounts yet">
            Add credentials for AWS, Azure or GCP, or try the simulated sandbox cloud.
          </EmptyState>
        )}
        {accounts.data && accounts.data.items.length > 0 && (
          <div className="card p-0 sm:p-0">
            <AccountList accounts={accounts.data.items} canDelete={manage} onDeleted={accounts.reload} />
          </div>
        )}
      </section>
      <section className="card h-fit lg:col-span-2" aria-labelledby="add-account-title">
        <h2 id="add-account-title" className="mb-3 text-base font-semibold">
          Add a cloud account
        </h2>
        {added && (
          <div className="mb-4">
            <Notice tone="success" testId="account-added">
              Account “{added.name}” added.{' '}
              {canOrder(project.role) && (
                <Link
                  className="link"
                  to={`/resources/new?project_id=${encodeURIComponent(project.id)}&account_id=${encodeURIComponent(added.id)}`}
                >
                  Create a resource with it
                </Link>
              )}
            </Notice>
          </div>
        )}
        {manage ? (
          <AccountForm
            projectId={project.id}
            onCreated={(a) => {
              setAdded(a);
              accounts.reload();
            }}
          />
        ) : (
          <Notice>Only owners and admins can add accounts.</Notice>
        )}
      </section>
    </div>
  );
}
