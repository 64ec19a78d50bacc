import { Link } from 'react-router';
import type { FieldErrors, UseFormRegisterReturn } from 'react-hook-form';
import type { Account, Page, Project } from '../../api/types';
import type { ResourceFormValues } from '../../lib/schemas';
import type { AsyncState } from '../../lib/useAsync';
import { cloudLabel } from '../../lib/format';
import { ErrorAlert, Field, Loading, SimulatedTag } from '../../components/ui';

/** Step 1: the project and one of its cloud accounts. */
export function AccountStep({
  orderable,
  projectId,
  projectField,
  accountField,
  accounts,
  accountList,
  errors,
}: {
  orderable: Project[];
  projectId: string;
  projectField: UseFormRegisterReturn<'project_id'>;
  accountField: UseFormRegisterReturn<'account_id'>;
  accounts: AsyncState<Page<Account>>;
  accountList: Account[];
  errors: FieldErrors<ResourceFormValues>;
}) {
  return (
    <div className="space-y-4">
      <Field label="Project" error={errors.project_id?.message}>
        {(p) => (
          <select {...p} {...projectField} className="input">
            {orderable.map((pr) => (
              <option key={pr.id} value={pr.id}>
                {pr.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      <fieldset>
        <legend className="label">Cloud account</legend>
        {accounts.loading && !accounts.data && <Loading />}
        <ErrorAlert error={accounts.error} onRetry={accounts.reload} />
        {accounts.data && accountList.length === 0 && (
          <p className="text-sm text-slate-700">
            This project has no cloud accounts yet.{' '}
            <Link to={`/projects/${projectId}/accounts`} className="link">
              Add a cloud account
            </Link>
          </p>
        )}
        <div className="grid gap-2 sm:grid-cols-2">
          {accountList.map((a) => (
            <label
              key={a.id}
              className="flex cursor-pointer items-start gap-3 rounded-md border border-slate-200 p-3 has-[:checked]:border-blue-600 has-[:checked]:bg-blue-50"
            >
              <input type="radio" value={a.id} {...accountField} className="mt-1" />
              <span className="min-w-0">
                <span className="block font-medium">{a.name}</span>
                <span className="flex flex-wrap items-center gap-1.5 text-xs text-slate-600">
                  {a.cloud === 'sandbox' ? 'Sandbox' : cloudLabel(a.cloud)}
                  {a.cloud === 'sandbox' && <SimulatedTag />}
                  {a.hint && <span className="font-mono">{a.hint}</span>}
                </span>
              </span>
            </label>
          ))}
        </div>
        {errors.account_id && <p className="field-error">{errors.account_id.message}</p>}
      </fieldset>
    </div>
  );
}
