import { useMemo, useState, type ChangeEvent } from 'react';
import { useForm, useWatch, type Resolver } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import { api, loadCatalog } from '../api/endpoints';
import { CLOUDS, type Account, type AccountKind, type CloudId, type CredentialField } from '../api/types';
import { applyApiError } from '../lib/formErrors';
import { credentialSchema, pickCredentials, serviceAccountProblem } from '../lib/schemas';
import { cloudLabel, cloudOptionLabel } from '../lib/format';
import { accountKindFor, fillAudience } from '../lib/trustPolicy';
import { useAsync } from '../lib/useAsync';
import { ErrorAlert, Field } from './ui';
import { WorkloadIdentityHelp } from './WorkloadIdentityHelp';

// name, cloud, and the credential fields of the chosen cloud (from the catalog).
type Values = Record<string, string>;

const EMPTY: Values = { name: '', cloud: '' };

const baseSchema = z.object({
  name: z.string().trim().min(1, { message: 'Give the account a name' }).max(100, { message: 'At most 100 characters' }),
  cloud: z.enum(['aws', 'azure', 'gcp', 'sandbox'], { message: 'Choose a cloud' }),
});

/** The fields of the chosen cloud decide the schema. */
function makeResolver(fieldsOf: (cloud: string) => readonly CredentialField[]): Resolver<Values> {
  return (values, ctx, opts) => {
    const fields = fieldsOf(values.cloud ?? '');
    const schema = fields.length > 0 ? baseSchema.and(credentialSchema(fields)) : baseSchema;
    return (zodResolver(schema as unknown as z.ZodType<Values, Values>) as Resolver<Values>)(values, ctx, opts);
  };
}

export function AccountForm({ projectId, onCreated }: { projectId: string; onCreated: (a: Account) => void }) {
  const [formError, setFormError] = useState('');
  const [keyFile, setKeyFile] = useState<{ name: string; email: string } | null>(null);
  const catalog = useAsync(loadCatalog, 'catalog');
  const wi = useAsync(() => api.workloadIdentity(), 'workload-identity');
  // Workload identity or stored credentials; null: the default (workload identity where the operator set the
  // issuer's public URL and the cloud offers it).
  const [kindChoice, setKindChoice] = useState<AccountKind | null>(null);
  const publicUrlSet = !!wi.data?.public_url_set;
  const kindOf = (c: string): AccountKind =>
    accountKindFor(!!catalog.data?.clouds.find((x) => x.id === c)?.workload_identity, publicUrlSet, kindChoice);
  // useForm reads its resolver on every render: a new one when the choice changes.
  const resolver = useMemo(() => {
    const clouds = catalog.data?.clouds ?? [];
    return makeResolver((c) => {
      const e = clouds.find((x) => x.id === c);
      const identity = accountKindFor(!!e?.workload_identity, publicUrlSet, kindChoice) === 'workload_identity';
      return (identity ? e?.workload_identity?.fields : e?.credentials) ?? [];
    });
  }, [catalog.data, publicUrlSet, kindChoice]);
  const {
    register,
    handleSubmit,
    setError,
    setValue,
    getValues,
    control,
    reset,
    formState: { errors, isSubmitting },
  } = useForm<Values>({ resolver, defaultValues: EMPTY });
  const cloud = useWatch({ control, name: 'cloud' }) ?? '';
  const entry = catalog.data?.clouds.find((x) => x.id === cloud);
  const kind = kindOf(cloud);
  const identity = kind === 'workload_identity' ? entry?.workload_identity : undefined;
  const fields = (identity ? identity.fields : entry?.credentials) ?? [];
  const typed = useWatch({ control }) as Values;

  const onKeyFile = (f: CredentialField, e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    e.target.value = '';
    if (!file) return;
    if (file.size > f.max) {
      setError(f.name, { type: 'file', message: 'That file is too large to be a key file' });
      return;
    }
    void file.text().then((text) => {
      setValue(f.name, text, { shouldValidate: true, shouldDirty: true });
      if (serviceAccountProblem(text) === null) {
        const o = JSON.parse(text) as { client_email?: string; project_id?: string };
        setKeyFile({ name: file.name, email: o.client_email ?? '' });
        // A GCP key file names its project: prefill the project field if the cloud has one.
        const hasProject = fields.some((x) => x.name === 'project_id');
        if (hasProject && !getValues('project_id') && o.project_id) {
          setValue('project_id', o.project_id, { shouldValidate: true });
        }
      } else {
        setKeyFile(null);
      }
    });
  };

  const onSubmit = handleSubmit(async (v) => {
    setFormError('');
    if (!v.cloud) return;
    try {
      const name = (v.name ?? '').trim();
      const account = await api.createAccount(
        projectId,
        identity
          ? { name, cloud: v.cloud as CloudId, kind: 'workload_identity', identity: pickCredentials(fields, v) }
          : { name, cloud: v.cloud as CloudId, credentials: pickCredentials(fields, v) },
      );
      // Secrets do not stay in the page once sent.
      reset(EMPTY);
      setKeyFile(null);
      onCreated(account);
    } catch (e) {
      const { message } = applyApiError(e, setError, ['name', 'cloud', ...fields.map((f) => f.name)]);
      if (message) setFormError(message);
    }
  });

  return (
    <form onSubmit={onSubmit} noValidate className="space-y-4" data-testid="account-form" autoComplete="off">
      <div className="grid gap-4 sm:grid-cols-2">
        <Field label="Cloud" error={errors.cloud?.message}>
          {(p) => (
            <select {...p} {...register('cloud')} className="input" data-testid="account-cloud">
              <option value="">Choose a cloud…</option>
              {CLOUDS.map((c) => (
                <option key={c} value={c}>
                  {cloudOptionLabel(c, catalog.data?.clouds.find((x) => x.id === c)?.name)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Account name" error={errors.name?.message} hint="For you to tell accounts apart, e.g. “prod” or “team sandbox”.">
          {(p) => <input {...p} {...register('name')} className="input" />}
        </Field>
      </div>

      <ErrorAlert error={catalog.error} onRetry={catalog.reload} />

      {entry?.simulated && (
        <p className="rounded-md bg-violet-50 p-3 text-sm text-violet-900">
          The sandbox needs no credentials of yours: leave its API key empty and one is generated. Its resources are
          simulated: nothing is created in a real cloud and nothing is billed.
        </p>
      )}

      {entry?.workload_identity && (
        <fieldset className="space-y-2" data-testid="account-kind">
          <legend className="label">How runs authenticate</legend>
          <label className="flex items-center gap-2 text-sm">
            <input
              type="radio"
              name="account-kind"
              checked={kind === 'workload_identity'}
              onChange={() => setKindChoice('workload_identity')}
            />
            Workload identity (recommended): no stored secret, a short-lived token per run
          </label>
          <label className="flex items-center gap-2 text-sm">
            <input
              type="radio"
              name="account-kind"
              checked={kind === 'credentials'}
              onChange={() => setKindChoice('credentials')}
            />
            Stored credentials (access keys, client secret or key file)
          </label>
        </fieldset>
      )}

      {identity && wi.data && (
        <WorkloadIdentityHelp
          cloud={cloud as CloudId}
          info={wi.data}
          projectId={projectId}
          audience={fillAudience(identity.default_audience, typed)}
        />
      )}

      {fields.length > 0 && (
        <fieldset className="space-y-4 rounded-md border border-slate-200 p-3 sm:p-4">
          <legend className="px-1 text-sm font-semibold text-slate-800">
            {cloudLabel(cloud)} {identity ? 'identity to assume' : 'credentials'}
          </legend>
          <p className="text-xs text-slate-600">
            {identity
              ? 'Not secret: shown on the account. Runs assume it with a token cloudplane signs.'
              : 'Stored encrypted. Never shown again: the list shows only a hint.'}
          </p>
          {fields.map((f) => {
            const err = errors[f.name]?.message;
            if (f.input === 'file') {
              return (
                <div key={f.name} className="space-y-2">
                  <div>
                    <label htmlFor="gcp-key-file" className="label">
                      Service account key file
                    </label>
                    <input
                      id="gcp-key-file"
                      type="file"
                      accept=".json,application/json"
                      onChange={(e) => onKeyFile(f, e)}
                      className="block w-full text-sm text-slate-700 file:mr-3 file:rounded-md file:border file:border-slate-300 file:bg-white file:px-3 file:py-1.5 file:text-sm file:font-medium hover:file:bg-slate-50"
                    />
                  </div>
                  {keyFile ? (
                    <div className="flex flex-wrap items-center justify-between gap-2 rounded-md bg-slate-50 p-2 text-sm">
                      <span>
                        Loaded <strong>{keyFile.name}</strong>
                        {keyFile.email && <> ({keyFile.email})</>}
                      </span>
                      <button
                        type="button"
                        className="btn btn-ghost btn-sm"
                        onClick={() => {
                          setKeyFile(null);
                          setValue(f.name, '');
                        }}
                      >
                        Clear
                      </button>
                    </div>
                  ) : (
                    <Field label="…or paste the key JSON" error={err}>
                      {(p) => (
                        <textarea
                          {...p}
                          {...register(f.name)}
                          rows={5}
                          spellCheck={false}
                          autoComplete="off"
                          className="input font-mono text-xs"
                          placeholder='{"type": "service_account", …}'
                        />
                      )}
                    </Field>
                  )}
                  {keyFile && err && <p className="field-error">{err}</p>}
                </div>
              );
            }
            return (
              <Field
                key={f.name}
                label={f.required && !f.generated ? f.label : `${f.label} (optional)`}
                error={err}
                hint={f.generated ? 'Leave empty to have one generated, or enter a key you already use.' : undefined}
              >
                {(p) => (
                  <input
                    {...p}
                    {...register(f.name)}
                    type={f.secret || f.input === 'password' ? 'password' : 'text'}
                    autoComplete={f.secret ? 'new-password' : 'off'}
                    spellCheck={false}
                    placeholder={f.placeholder}
                    className="input font-mono"
                  />
                )}
              </Field>
            );
          })}
        </fieldset>
      )}

      <ErrorAlert error={formError} />
      <button type="submit" className="btn btn-primary" disabled={isSubmitting}>
        {isSubmitting ? 'Adding…' : 'Add account'}
      </button>
    </form>
  );
}
