import { useEffect, useMemo, useRef, useState } from 'react';
import { useForm, useWatch, type FieldErrors, type Resolver } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import type { z } from 'zod';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { api, listAllProjects, loadCatalog } from '../api/endpoints';
import { toApiError } from '../api/client';
import type { Account, Catalog, CatalogCloud, CatalogKind } from '../api/types';
import { useAsync } from '../lib/useAsync';
import { applyApiError } from '../lib/formErrors';
import { HOURS_PER_MONTH } from '../lib/cost';
import { canOrder } from '../lib/projects';
import { cloudLabel, formatUsd, formatUsdPrecise } from '../lib/format';
import { resourceFormSchema, toCreateRequest, type ResourceFormValues } from '../lib/schemas';
import { CostPreview } from '../components/CostPreview';
import { EmptyState, ErrorAlert, Field, Loading, PageHeader, SimulatedTag } from '../components/ui';

const STEPS = ['Account', 'Kind', 'Region', 'Size', 'Name & options'] as const;

const STEP_FIELDS: (keyof ResourceFormValues)[][] = [
  ['project_id', 'account_id'],
  ['kind'],
  ['region'],
  ['size'],
  ['name', 'ssh_public_key', 'allowed_cidrs', 'expected_gb'],
];

const ALL_FIELDS = STEP_FIELDS.flat();

function stepOfField(field: string): number {
  const i = STEP_FIELDS.findIndex((fs) => (fs as string[]).includes(field));
  return i < 0 ? 4 : i;
}

function findCloud(catalog: Catalog | undefined, cloudId: string | undefined): CatalogCloud | undefined {
  return catalog?.clouds.find((c) => c.id === cloudId);
}

function findKind(cloud: CatalogCloud | undefined, kindId: string): CatalogKind | undefined {
  return cloud?.kinds.find((k) => k.id === kindId);
}

export function NewResourcePage() {
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const projects = useAsync(listAllProjects, 'projects');
  const catalog = useAsync(loadCatalog, 'catalog');
  const [step, setStep] = useState(0);
  const [formError, setFormError] = useState('');

  const orderable = useMemo(() => (projects.data ?? []).filter((p) => canOrder(p.role)), [projects.data]);

  // The schema depends on the chosen account's cloud and kind; the resolver
  // reads them through refs so it always sees the latest catalog and accounts.
  const catalogRef = useRef<Catalog | undefined>(undefined);
  const accountsRef = useRef<Account[]>([]);
  const resolver: Resolver<ResourceFormValues> = useMemo(
    () => (values, ctx, opts) => {
      const account = accountsRef.current.find((a) => a.id === values.account_id);
      const kind = findKind(findCloud(catalogRef.current, account?.cloud), values.kind);
      const schema = resourceFormSchema(kind) as unknown as z.ZodType<ResourceFormValues, ResourceFormValues>;
      return (zodResolver(schema) as Resolver<ResourceFormValues>)(values, ctx, opts);
    },
    [],
  );

  const {
    register,
    handleSubmit,
    setValue,
    setError,
    trigger,
    control,
    formState: { errors, isSubmitting },
  } = useForm<ResourceFormValues>({
    resolver,
    mode: 'onTouched',
    defaultValues: {
      project_id: params.get('project_id') ?? '',
      account_id: params.get('account_id') ?? '',
      kind: '',
      region: '',
      size: '',
      name: '',
      ssh_public_key: '',
      allowed_cidrs: '',
      expected_gb: '',
    },
  });

  const v = useWatch({ control }) as ResourceFormValues;
  const accounts = useAsync(() => api.listAccounts(v.project_id), `accounts:${v.project_id}`, Boolean(v.project_id));
  const accountList = useMemo(() => (v.project_id ? (accounts.data?.items ?? []) : []), [accounts.data, v.project_id]);

  useEffect(() => {
    catalogRef.current = catalog.data;
    accountsRef.current = accountList;
  });

  // Pick the only choice for the user where there is one.
  useEffect(() => {
    if (!v.project_id && orderable.length > 0) setValue('project_id', orderable[0]!.id);
  }, [orderable, v.project_id, setValue]);
  useEffect(() => {
    if (!v.account_id && accountList.length === 1) setValue('account_id', accountList[0]!.id);
  }, [accountList, v.account_id, setValue]);

  const project = orderable.find((p) => p.id === v.project_id) ?? projects.data?.find((p) => p.id === v.project_id);
  const account = accountList.find((a) => a.id === v.account_id);
  const cloud = findCloud(catalog.data, account?.cloud);
  const kind = findKind(cloud, v.kind);

  useEffect(() => {
    if (kind && !v.region && kind.regions.length > 0) setValue('region', kind.regions[0]!.id);
  }, [kind, v.region, setValue]);

  const goTo = async (target: number) => {
    if (target <= step) {
      setStep(target);
      return;
    }
    for (let s = step; s < target; s++) {
      const ok = await trigger(STEP_FIELDS[s]);
      if (!ok) {
        setStep(s);
        return;
      }
    }
    setStep(target);
  };

  const onInvalid = (errs: FieldErrors<ResourceFormValues>) => {
    const first = Object.keys(errs)[0];
    if (first) setStep(stepOfField(first));
  };

  const onSubmit = handleSubmit(async (values) => {
    setFormError('');
    if (!kind) return;
    try {
      const r = await api.createResource(toCreateRequest(values, kind));
      navigate(`/resources/${r.resource.id}`, { state: { runId: r.run?.id } });
    } catch (e) {
      const err = toApiError(e);
      if (err.code === 'budget_exceeded') {
        setFormError(err.message || 'This would exceed the project’s monthly budget.');
        return;
      }
      const { message, field } = applyApiError(e, setError, ALL_FIELDS, {
        'config.allowed_cidrs': 'allowed_cidrs',
        'config.ssh_public_key': 'ssh_public_key',
        'config.expected_gb': 'expected_gb',
      });
      if (field) setStep(stepOfField(field));
      if (message) setFormError(message);
    }
  }, onInvalid);

  if ((projects.loading && !projects.data) || (catalog.loading && !catalog.data)) return <Loading />;
  if (projects.error || catalog.error) {
    return (
      <ErrorAlert
        error={projects.error ?? catalog.error}
        onRetry={() => {
          projects.reload();
          catalog.reload();
        }}
      />
    );
  }
  if (orderable.length === 0) {
    return (
      <EmptyState
        title="No project to create resources in"
        actions={
          <Link to="/accounts/new" className="btn btn-primary">
            Add a cloud account
          </Link>
        }
      >
        Create a project and add a cloud account first. Viewers cannot create resources.
      </EmptyState>
    );
  }

  const isLast = step === STEPS.length - 1;
  const projectField = register('project_id', {
    onChange: () => {
      setValue('account_id', '');
      setValue('kind', '');
      setValue('region', '');
      setValue('size', '');
    },
  });
  const accountField = register('account_id', {
    onChange: () => {
      setValue('kind', '');
      setValue('region', '');
      setValue('size', '');
    },
  });
  const kindField = register('kind', {
    onChange: () => {
      setValue('region', '');
      setValue('size', '');
    },
  });

  return (
    <div>
      <PageHeader title="New resource" subtitle={project ? <>in {project.name}</> : undefined} />
      <ol className="mb-5 flex gap-1 relative overflow-x-auto pb-1 text-sm" aria-label="Steps">
        {STEPS.map((label, i) => (
          <li key={label} className="shrink-0">
            <button
              type="button"
              onClick={() => void goTo(i)}
              aria-current={i === step ? 'step' : undefined}
              className={`flex items-center gap-2 rounded-full px-3 py-1.5 ${
                i === step
                  ? 'bg-blue-700 text-white'
                  : i < step
                    ? 'bg-blue-50 text-blue-800 hover:bg-blue-100'
                    : 'bg-slate-100 text-slate-600 hover:bg-slate-200'
              }`}
            >
              <span className="tabular-nums">{i + 1}</span>
              {/* On narrow screens only the current step is named. */}
              <span className={i === step ? '' : 'sr-only sm:not-sr-only'}>{label}</span>
            </button>
          </li>
        ))}
      </ol>

      <div className="grid gap-5 lg:grid-cols-3">
        <form onSubmit={onSubmit} noValidate className="card space-y-5 lg:col-span-2" data-testid="new-resource-form">
          <h2 className="text-base font-semibold">
            Step {step + 1} of {STEPS.length}: {STEPS[step]}
          </h2>

          {step === 0 && (
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
                    <Link to={`/projects/${v.project_id}/accounts`} className="link">
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
          )}

          {step === 1 && (
            <fieldset>
              <legend className="label">What to create on {cloud ? cloud.name : cloudLabel(account?.cloud ?? '')}</legend>
              {!cloud && <ErrorAlert error="The catalog has no entry for this account’s cloud." />}
              <div className="grid gap-2 sm:grid-cols-2">
                {cloud?.kinds.map((k) => (
                  <label
                    key={k.id}
                    className="flex cursor-pointer items-start gap-3 rounded-md border border-slate-200 p-3 has-[:checked]:border-blue-600 has-[:checked]:bg-blue-50"
                  >
                    <input type="radio" value={k.id} {...kindField} className="mt-1" />
                    <span>
                      <span className="block font-medium">{k.label}</span>
                      <span className="text-xs text-slate-600">
                        {k.id === 'vm'
                          ? `${k.sizes?.length ?? 0} sizes, ${k.regions.length} regions`
                          : `${formatUsdPrecise(k.gb_month_usd)} per GB-month, ${k.regions.length} regions`}
                      </span>
                    </span>
                  </label>
                ))}
              </div>
              {errors.kind && <p className="field-error">{errors.kind.message}</p>}
            </fieldset>
          )}

          {step === 2 && kind && (
            <Field label="Region" error={errors.region?.message}>
              {(p) => (
                <select {...p} {...register('region')} className="input">
                  <option value="">Choose a region…</option>
                  {kind.regions.map((r) => (
                    <option key={r.id} value={r.id}>
                      {r.name} ({r.id})
                    </option>
                  ))}
                </select>
              )}
            </Field>
          )}

          {step === 3 && kind?.id === 'vm' && (
            <fieldset>
              <legend className="label">Size</legend>
              <div className="relative overflow-x-auto rounded-md border border-slate-200">
                <table className="table-base">
                  <thead className="bg-slate-50">
                    <tr>
                      <th scope="col">Size</th>
                      <th scope="col" className="text-right">
                        vCPU
                      </th>
                      <th scope="col" className="text-right">
                        Memory
                      </th>
                      <th scope="col" className="text-right">
                        Per hour
                      </th>
                      <th scope="col" className="text-right">
                        Per month
                      </th>
                    </tr>
                  </thead>
                  <tbody className="divide-y divide-slate-100">
                    {kind.sizes?.map((s) => (
                      <tr key={s.id} className="has-[:checked]:bg-blue-50">
                        <td className="whitespace-nowrap">
                          <label className="flex cursor-pointer items-center gap-2 font-medium">
                            <input type="radio" value={s.id} {...register('size')} data-testid={`size-${s.id}`} />
                            {s.id}
                          </label>
                        </td>
                        <td className="text-right tabular-nums">{s.vcpu}</td>
                        <td className="whitespace-nowrap text-right tabular-nums">{s.memory_gib} GiB</td>
                        <td className="text-right tabular-nums">{formatUsdPrecise(s.hourly_usd)}</td>
                        <td className="text-right tabular-nums">{formatUsd(s.hourly_usd * HOURS_PER_MONTH)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              {errors.size && <p className="field-error">{errors.size.message}</p>}
            </fieldset>
          )}
          {step === 3 && kind?.id === 'storage' && (
            <p className="text-sm text-slate-700">
              Object storage has no size to choose: it is billed at {formatUsdPrecise(kind.gb_month_usd)} per GB stored per
              month. You enter the expected amount in the next step.
            </p>
          )}

          {step === 4 && kind && (
            <div className="space-y-4">
              <Field label="Name" error={errors.name?.message} hint={kind.name_rule.description || undefined}>
                {(p) => (
                  <input
                    {...p}
                    {...register('name')}
                    className="input font-mono"
                    autoComplete="off"
                    spellCheck={false}
                    maxLength={kind.name_rule.max}
                  />
                )}
              </Field>
              {kind.id === 'vm' && (
                <>
                  <Field
                    label="SSH public key"
                    error={errors.ssh_public_key?.message}
                    hint="The contents of your ~/.ssh/id_ed25519.pub (one line, starting with ssh-ed25519 or ssh-rsa)."
                  >
                    {(p) => (
                      <textarea
                        {...p}
                        {...register('ssh_public_key')}
                        rows={3}
                        spellCheck={false}
                        className="input font-mono text-xs"
                        placeholder="ssh-ed25519 AAAA… you@laptop"
                      />
                    )}
                  </Field>
                  <Field
                    label="Allowed CIDRs"
                    error={errors.allowed_cidrs?.message}
                    hint="Networks allowed to connect, separated by commas or new lines, e.g. 203.0.113.0/24."
                  >
                    {(p) => (
                      <textarea
                        {...p}
                        {...register('allowed_cidrs')}
                        rows={3}
                        spellCheck={false}
                        className="input font-mono text-xs"
                        placeholder={'203.0.113.0/24\n198.51.100.7/32'}
                      />
                    )}
                  </Field>
                </>
              )}
              {kind.id === 'storage' && (
                <Field label="Expected storage (GB)" error={errors.expected_gb?.message} hint="Used for the cost estimate and budget.">
                  {(p) => <input {...p} {...register('expected_gb')} inputMode="numeric" className="input max-w-xs" />}
                </Field>
              )}
            </div>
          )}

          <ErrorAlert error={formError} />

          <div className="flex flex-wrap justify-between gap-2 border-t border-slate-100 pt-4">
            <button type="button" className="btn btn-secondary" onClick={() => setStep((s) => Math.max(0, s - 1))} disabled={step === 0}>
              Back
            </button>
            {isLast ? (
              <button type="submit" className="btn btn-primary" disabled={isSubmitting}>
                {isSubmitting ? 'Creating…' : 'Create resource'}
              </button>
            ) : (
              <button type="button" className="btn btn-primary" onClick={() => void goTo(step + 1)}>
                Next
              </button>
            )}
          </div>
        </form>

        <aside className="space-y-4 lg:sticky lg:top-20 lg:self-start">
          <CostPreview kind={kind} sizeId={v.size} expectedGb={v.expected_gb} project={project} simulated={Boolean(cloud?.simulated)} />
          <section className="card text-sm" aria-label="Summary">
            <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1">
              <dt className="text-slate-600">Account</dt>
              <dd className="truncate">{account ? `${account.name} (${cloudLabel(account.cloud)})` : '—'}</dd>
              <dt className="text-slate-600">Kind</dt>
              <dd>{kind?.label ?? '—'}</dd>
              <dt className="text-slate-600">Region</dt>
              <dd className="truncate">{kind?.regions.find((r) => r.id === v.region)?.name ?? '—'}</dd>
              {kind?.id === 'vm' && (
                <>
                  <dt className="text-slate-600">Size</dt>
                  <dd>{v.size || '—'}</dd>
                </>
              )}
            </dl>
          </section>
        </aside>
      </div>
    </div>
  );
}
