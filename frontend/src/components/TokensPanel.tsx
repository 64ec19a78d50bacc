// Create, list and revoke API tokens: personal ones (settings) and a
// project's service tokens (project tab, with a role). A new token is shown
// once, with a copy button, until dismissed.
import { useCallback, useEffect, useReducer, useState } from 'react';
import { Controller, useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { toApiError } from '../api/client';
import type { ApiToken, ApiTokenCreated, CreateProjectTokenRequest } from '../api/types';
import { TOKEN_SCOPES } from '../api/types';
import { applyApiError } from '../lib/formErrors';
import { formatDateTime, formatRelative, humanize } from '../lib/format';
import {
  NEW_TOKEN,
  SCOPE_TEXT,
  TOKEN_ROLES,
  initialTokenList,
  toCreateToken,
  tokenFormSchema,
  tokenListReducer,
  type TokenFormValues,
} from '../lib/apiTokens';
import { SecretOnce } from './SecretOnce';
import { Dialog } from './Dialog';
import { CheckboxSet, ErrorAlert, Field, Loading } from './ui';

const FIELDS = ['name', 'scopes', 'role'] as const;

export interface TokensApi {
  list: () => Promise<{ items: ApiToken[] }>;
  create: (body: CreateProjectTokenRequest) => Promise<ApiTokenCreated>;
  revoke: (id: string) => Promise<void>;
}

function TokenForm({ withRole, onSubmit, onCancel }: { withRole: boolean; onSubmit: (v: TokenFormValues) => Promise<void>; onCancel: () => void }) {
  const [formError, setFormError] = useState('');
  const {
    register,
    control,
    handleSubmit,
    setError,
    formState: { errors, isSubmitting },
  } = useForm<TokenFormValues>({ resolver: zodResolver(tokenFormSchema), defaultValues: NEW_TOKEN });
  const submit = handleSubmit(async (v) => {
    setFormError('');
    try {
      await onSubmit(v);
    } catch (e) {
      const { message } = applyApiError(e, setError, FIELDS);
      if (message) setFormError(message);
    }
  });
  return (
    <form onSubmit={submit} noValidate className="space-y-3" data-testid="token-create-form">
      <Field label="Name" error={errors.name?.message} hint="What uses it, e.g. the CI job.">
        {(p) => <input {...p} {...register('name')} className="input" autoComplete="off" />}
      </Field>
      <fieldset>
        <legend className="label">Scopes</legend>
        <Controller
          control={control}
          name="scopes"
          render={({ field }) => <CheckboxSet options={TOKEN_SCOPES} value={field.value} onChange={field.onChange} text={SCOPE_TEXT} />}
        />
        {errors.scopes?.message && <p className="field-error">{errors.scopes.message}</p>}
      </fieldset>
      {withRole && (
        <Field label="Role in the project" error={errors.role?.message} hint="At most your own role.">
          {(p) => (
            <select {...p} {...register('role')} className="input">
              {TOKEN_ROLES.map((r) => (
                <option key={r} value={r}>
                  {humanize(r)}
                </option>
              ))}
            </select>
          )}
        </Field>
      )}
      <Field label="Expires in (days)" error={errors.expiresInDays?.message} hint="1 to 365 days.">
        {(p) => <input {...p} {...register('expiresInDays', { valueAsNumber: true })} type="number" min={1} max={365} className="input w-32" />}
      </Field>
      <ErrorAlert error={formError} />
      <div className="flex gap-2">
        <button type="submit" className="btn btn-primary" disabled={isSubmitting}>
          {isSubmitting ? 'Creating…' : 'Create token'}
        </button>
        <button type="button" className="btn btn-secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

export function TokensPanel({ tokens, withRole, title, intro }: { tokens: TokensApi; withRole: boolean; title: string; intro: string }) {
  const [state, dispatch] = useReducer(tokenListReducer, initialTokenList);
  const [loading, setLoading] = useState(true);
  const [loadError, setLoadError] = useState('');
  const [adding, setAdding] = useState(false);
  const [confirm, setConfirm] = useState<ApiToken | null>(null);
  const [revoking, setRevoking] = useState(false);
  const [revokeError, setRevokeError] = useState('');

  const load = useCallback(
    () =>
      tokens.list().then(
        (page) => {
          dispatch({ type: 'loaded', items: page.items });
          setLoadError('');
          setLoading(false);
        },
        (e: unknown) => {
          setLoadError(toApiError(e).message);
          setLoading(false);
        },
      ),
    [tokens],
  );

  useEffect(() => {
    void load();
  }, [load]);

  const doRevoke = async () => {
    if (!confirm) return;
    setRevoking(true);
    setRevokeError('');
    try {
      await tokens.revoke(confirm.id);
      dispatch({ type: 'revoked', id: confirm.id });
      setConfirm(null);
    } catch (e) {
      const err = toApiError(e);
      if (err.status === 404) {
        dispatch({ type: 'revoked', id: confirm.id });
        setConfirm(null);
      } else setRevokeError(err.message);
    } finally {
      setRevoking(false);
    }
  };

  return (
    <div className="space-y-5">
      {state.revealed && (
        <SecretOnce
          title="Your new token"
          value={state.revealed.token}
          label="token"
          testId="token-secret"
          onDismiss={() => dispatch({ type: 'dismiss' })}
        >
          Send it as Authorization: Bearer &lt;token&gt;.
        </SecretOnce>
      )}
      <section className="card" aria-labelledby="tokens-title">
        <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
          <h2 id="tokens-title" className="text-base font-semibold">
            {title}
          </h2>
          {!adding && (
            <button type="button" className="btn btn-primary btn-sm" onClick={() => setAdding(true)}>
              Create a token
            </button>
          )}
        </div>
        <p className="mb-3 text-sm text-slate-600">{intro}</p>
        {adding && (
          <div className="mb-4 rounded-md border border-slate-200 p-3">
            <TokenForm
              withRole={withRole}
              onCancel={() => setAdding(false)}
              onSubmit={async (v) => {
                dispatch({ type: 'created', token: await tokens.create(toCreateToken(v, withRole)) });
                setAdding(false);
              }}
            />
          </div>
        )}
        <ErrorAlert error={loadError} onRetry={() => void load()} />
        {loading ? (
          <Loading />
        ) : state.items.length === 0 ? (
          <p className="text-sm text-slate-600" data-testid="tokens-empty">
            No tokens yet.
          </p>
        ) : (
          <div className="relative overflow-x-auto rounded-md border border-slate-200">
            <table className="table-base text-sm" data-testid="tokens">
              <thead className="bg-slate-50">
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Scopes</th>
                  {withRole && <th scope="col">Role</th>}
                  <th scope="col">Last used</th>
                  <th scope="col">Expires</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {state.items.map((t) => (
                  <tr key={t.id} data-testid="token-row">
                    <td>{t.name}</td>
                    <td>
                      <code className="text-xs">{t.scopes.join(', ')}</code>
                    </td>
                    {withRole && <td>{t.role ? humanize(t.role) : ''}</td>}
                    <td title={formatDateTime(t.last_used_at)}>{t.last_used_at ? formatRelative(t.last_used_at) : 'Never'}</td>
                    <td title={formatDateTime(t.expires_at)}>{formatDateTime(t.expires_at)}</td>
                    <td className="text-right">
                      <button type="button" className="btn btn-ghost btn-sm" onClick={() => setConfirm(t)}>
                        Revoke
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <Dialog open={confirm !== null} onClose={() => setConfirm(null)} title="Revoke this token?" testId="revoke-token-dialog">
        <p className="mb-4 text-sm text-slate-700">
          <strong>{confirm?.name}</strong> stops working at once, everywhere it is used.
        </p>
        <ErrorAlert error={revokeError} />
        <div className="mt-4 flex justify-end gap-2">
          <button type="button" className="btn btn-secondary" onClick={() => setConfirm(null)}>
            Keep it
          </button>
          <button type="button" className="btn btn-danger" disabled={revoking} onClick={() => void doRevoke()}>
            {revoking ? 'Revoking…' : 'Revoke token'}
          </button>
        </div>
      </Dialog>
    </div>
  );
}
