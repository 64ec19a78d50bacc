import { useEffect, useMemo, useRef, useState } from 'react';
import { useForm, useWatch, type FieldErrors, type Resolver } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import type { z } from 'zod';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { api, listAllProjects, loadCatalog } from '../api/endpoints';
import { toApiError } from '../api/client';
import type { Account, Catalog } from '../api/types';
import { useAsync } from '../lib/useAsync';
import { applyApiError } from '../lib/formErrors';
import { canManage, canOrder } from '../lib/projects';
import { resourceFormSchema, toCheckRequest, toCreateRequest, type ResourceFormValues } from '../lib/schemas';
import { groupChecks } from '../lib/guardrails';
import { useGuardrailCheck } from '../lib/guardrailCheck';
import type { GuardrailCheck } from '../api/types';
import { GuardrailCheckPanel } from '../components/GuardrailCheckPanel';
import { EmptyState, ErrorAlert, Field, Loading, Notice, PageHeader } from '../components/ui';
import { ALL_FIELDS, STEPS, STEP_FIELDS, findCloud, findKind, stepOfField } from './newResource/steps';
import { StepNav } from './newResource/StepNav';
import { AccountStep } from './newResource/AccountStep';
import { KindStep } from './newResource/KindStep';
import { RegionStep } from './newResource/RegionStep';
import { SizeStep } from './newResource/SizeStep';
import { OptionsStep } from './newResource/OptionsStep';
import { Summary } from './newResource/Summary';
import { SCHEDULE_PRESETS, localTimeZone } from '../lib/cron';
import { ttlDefault } from '../lib/duration';

/** The order wizard: one step component per step, one form across them. */
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
      ttl_choice: 'none',
      ttl_custom: '',
      schedule_on: false,
      schedule_stop: SCHEDULE_PRESETS[0]!.stop,
      schedule_start: SCHEDULE_PRESETS[0]!.start,
      schedule_timezone: localTimeZone(),
      tags: [],
      public: false,
      override_reason: '',
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

  // The TTL starts at the project's default, chosen again when the project changes.
  const defaultTtl = project ? project.default_ttl_seconds : null;
  const ttlFor = useRef<string | null>(null);
  useEffect(() => {
    if (!project || ttlFor.current === project.id) return;
    ttlFor.current = project.id;
    const d = ttlDefault(defaultTtl);
    setValue('ttl_choice', d.choice);
    setValue('ttl_custom', d.custom);
  }, [project, defaultTtl, setValue]);

  useEffect(() => {
    if (kind && !v.region && kind.regions.length > 0) setValue('region', kind.regions[0]!.id);
  }, [kind, v.region, setValue]);

  // The project's guardrails, checked live as the order takes shape. A refusal
  // of the order itself (422 guardrail_blocked) shows its violations until the
  // order changes.
  const checkBody = toCheckRequest(v, kind);
  const checkKey = JSON.stringify(checkBody);
  const live = useGuardrailCheck(checkBody);
  const [refused, setRefused] = useState<{ key: string; checks: GuardrailCheck[] } | null>(null);
  const shownChecks = refused && refused.key === checkKey ? refused.checks : (live.result?.checks ?? []);
  const guard = groupChecks(shownChecks);
  const mayOverride = canManage(project?.role);
  const reasonOk = (v.override_reason ?? '').trim().length >= 3;
  const guardBlocks = guard.hardBlocked || (guard.softOnly && (!mayOverride || !reasonOk));

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
      // The override goes only with a soft block the form shows.
      const sent = guard.softOnly && mayOverride ? values : { ...values, override_reason: '' };
      const r = await api.createResource(toCreateRequest(sent, kind));
      navigate(`/resources/${r.resource.id}`, { state: { runId: r.run?.id } });
    } catch (e) {
      const err = toApiError(e);
      if (err.code === 'guardrail_blocked') {
        setRefused({ key: checkKey, checks: err.violations ?? [] });
        setFormError(err.message || 'The project’s guardrails refuse this order.');
        return;
      }
      if (err.code === 'budget_exceeded') {
        setFormError(err.message || 'This would exceed the project’s monthly budget.');
        return;
      }
      const { message, field } = applyApiError(e, setError, ALL_FIELDS, {
        'config.allowed_cidrs': 'allowed_cidrs',
        'config.ssh_public_key': 'ssh_public_key',
        'config.expected_gb': 'expected_gb',
        ttl: 'ttl_choice',
        expires_at: 'ttl_choice',
        schedule: 'schedule_stop',
        'schedule.stop': 'schedule_stop',
        'schedule.start': 'schedule_start',
        'schedule.timezone': 'schedule_timezone',
        'config.tags': 'tags',
        'config.public': 'public',
        guardrail_override: 'override_reason',
        'guardrail_override.reason': 'override_reason',
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
      <StepNav step={step} onGoTo={(i) => void goTo(i)} />

      <div className="grid gap-5 lg:grid-cols-3">
        <form onSubmit={onSubmit} noValidate className="card space-y-5 lg:col-span-2" data-testid="new-resource-form">
          <h2 className="text-base font-semibold">
            Step {step + 1} of {STEPS.length}: {STEPS[step]}
          </h2>

          {step === 0 && (
            <AccountStep
              orderable={orderable}
              projectId={v.project_id}
              projectField={projectField}
              accountField={accountField}
              accounts={accounts}
              accountList={accountList}
              errors={errors}
            />
          )}
          {step === 1 && <KindStep cloud={cloud} account={account} kindField={kindField} errors={errors} />}
          {step === 2 && kind && <RegionStep kind={kind} register={register} errors={errors} />}
          {step === 3 && kind && <SizeStep kind={kind} register={register} errors={errors} />}
          {step === 4 && kind && (
            <OptionsStep kind={kind} project={project} register={register} control={control} setValue={setValue} errors={errors} />
          )}

          {isLast && guard.hardBlocked && (
            <p className="field-error" data-testid="guardrail-hard-block">
              A hard guardrail blocks this order: change what it names to go on.
            </p>
          )}
          {isLast && !guard.hardBlocked && guard.softOnly && mayOverride && (
            <Field
              label="Override with a reason"
              error={errors.override_reason?.message}
              hint="A soft guardrail blocks this order. As an owner or admin you may go ahead; the reason is audited."
            >
              {(p) => <textarea {...p} {...register('override_reason')} rows={2} className="input" data-testid="override-reason" />}
            </Field>
          )}
          {isLast && !guard.hardBlocked && guard.softOnly && !mayOverride && (
            <Notice tone="warn" testId="guardrail-soft-block">
              A soft guardrail blocks this order. An owner or admin of the project can override it.
            </Notice>
          )}

          <ErrorAlert error={formError} />

          <div className="flex flex-wrap justify-between gap-2 border-t border-slate-100 pt-4">
            <button type="button" className="btn btn-secondary" onClick={() => setStep((s) => Math.max(0, s - 1))} disabled={step === 0}>
              Back
            </button>
            {isLast ? (
              <button type="submit" className="btn btn-primary" disabled={isSubmitting || guardBlocks}>
                {isSubmitting ? 'Creating…' : 'Create resource'}
              </button>
            ) : (
              <button type="button" className="btn btn-primary" onClick={() => void goTo(step + 1)}>
                Next
              </button>
            )}
          </div>
        </form>

        <Summary
          kind={kind}
          account={account}
          project={project}
          simulated={Boolean(cloud?.simulated)}
          size={v.size}
          region={v.region}
          expectedGb={v.expected_gb}
        >
          {checkBody && (
            <>
              <GuardrailCheckPanel checks={shownChecks} checking={live.status === 'checking' && !(refused && refused.key === checkKey)} />
              {live.status === 'error' && live.error && <ErrorAlert error={`Could not check the guardrails: ${live.error.message}`} />}
            </>
          )}
        </Summary>
      </div>
    </div>
  );
}
