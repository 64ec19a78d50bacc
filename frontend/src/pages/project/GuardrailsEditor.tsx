import { useMemo, useState, type ReactNode } from 'react';
import { Controller, useFieldArray, useForm, useWatch, type Control, type FieldErrors, type Path, type UseFormRegister } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { api, loadCatalog } from '../../api/endpoints';
import { toApiError } from '../../api/client';
import type { CloudId, Guardrails } from '../../api/types';
import { CLOUDS } from '../../api/types';
import { useAsync } from '../../lib/useAsync';
import { formatDateTime } from '../../lib/format';
import {
  LEVELS,
  RULES,
  catalogChoices,
  formPathOf,
  fromRules,
  guardrailFormSchema,
  toRules,
  type GuardrailFormValues,
  type RuleId,
} from '../../lib/guardrails';
import { ErrorAlert, Field, Loading, Notice } from '../../components/ui';

type Choices = ReturnType<typeof catalogChoices>;

/** The first message anywhere under an error node (a rule's card shows it when no field inside took it). */
function firstMessage(node: unknown): string | undefined {
  if (!node || typeof node !== 'object') return undefined;
  const m = (node as { message?: unknown }).message;
  if (typeof m === 'string' && m) return m;
  for (const [k, v] of Object.entries(node)) {
    if (k === 'ref') continue;
    const found = firstMessage(v);
    if (found) return found;
  }
  return undefined;
}

/** Checkboxes over a list of values, kept as an array (also with a single option). */
function CheckList({
  control,
  name,
  options,
  testId,
}: {
  control: Control<GuardrailFormValues>;
  name: Path<GuardrailFormValues>;
  options: { id: string; label: ReactNode }[];
  testId?: string;
}) {
  return (
    <Controller
      control={control}
      name={name}
      render={({ field }) => {
        const value = (Array.isArray(field.value) ? field.value : []) as string[];
        return (
          <div className="flex flex-wrap gap-x-4 gap-y-1" data-testid={testId}>
            {options.map((o) => (
              <label key={o.id} className="flex items-center gap-1.5 text-sm">
                <input
                  type="checkbox"
                  value={o.id}
                  checked={value.includes(o.id)}
                  onBlur={field.onBlur}
                  onChange={(e) =>
                    field.onChange(e.target.checked ? [...value, o.id] : value.filter((x) => x !== o.id))
                  }
                />
                {o.label}
              </label>
            ))}
          </div>
        );
      }}
    />
  );
}

function PerCloudPicker({
  control,
  rule,
  kind,
  choices,
}: {
  control: Control<GuardrailFormValues>;
  rule: 'allowed_regions' | 'allowed_sizes';
  kind: 'regions' | 'sizes';
  choices: Choices;
}) {
  const clouds = CLOUDS.filter((c) => choices[c][kind].length > 0);
  return (
    <div className="space-y-3">
      {clouds.map((c: CloudId) => (
        <fieldset key={c} className="rounded-md border border-slate-200 p-2">
          <legend className="px-1 text-xs font-medium text-slate-700">{choices[c].name}</legend>
          <CheckList
            control={control}
            name={`${rule}.${kind}.${c}` as Path<GuardrailFormValues>}
            testId={`${rule}-${c}`}
            options={
              kind === 'regions'
                ? choices[c].regions.map((r) => ({ id: r.id, label: <span title={r.name}>{r.id}</span> }))
                : choices[c].sizes.map((s) => ({
                    id: s.id,
                    label: (
                      <span>
                        {s.id} <span className="text-xs text-slate-500">({s.vcpu} vCPU)</span>
                      </span>
                    ),
                  }))
            }
          />
        </fieldset>
      ))}
    </div>
  );
}

function TagRows({
  control,
  register,
  errors,
}: {
  control: Control<GuardrailFormValues>;
  register: UseFormRegister<GuardrailFormValues>;
  errors: FieldErrors<GuardrailFormValues>;
}) {
  const { fields, append, remove } = useFieldArray({ control, name: 'required_tags.tags' });
  const rowErrors = errors.required_tags?.tags;
  return (
    <div className="space-y-2" data-testid="required-tags-rows">
      {fields.map((f, i) => (
        <div key={f.id} className="grid grid-cols-[1fr_1fr_auto] items-start gap-2">
          <Field label={`Tag ${i + 1} key`} error={rowErrors?.[i]?.key?.message}>
            {(p) => <input {...p} {...register(`required_tags.tags.${i}.key`)} className="input font-mono" autoComplete="off" placeholder="owner" />}
          </Field>
          <Field label={`Tag ${i + 1} pattern (optional)`} error={rowErrors?.[i]?.pattern?.message}>
            {(p) => (
              <input {...p} {...register(`required_tags.tags.${i}.pattern`)} className="input font-mono" autoComplete="off" placeholder="any value" />
            )}
          </Field>
          <button type="button" className="btn btn-ghost btn-sm mt-6" onClick={() => remove(i)} aria-label={`Remove tag ${i + 1}`}>
            Remove
          </button>
        </div>
      ))}
      <button type="button" className="btn btn-secondary btn-sm" onClick={() => append({ key: '', pattern: '' })} disabled={fields.length >= 20}>
        Add a tag
      </button>
    </div>
  );
}

function VcpuField({
  rule,
  register,
  error,
}: {
  rule: 'max_vcpu_per_resource' | 'max_vcpu_per_project';
  register: UseFormRegister<GuardrailFormValues>;
  error: string | undefined;
}) {
  return (
    <Field label="Most vCPUs" error={error}>
      {(p) => <input {...p} {...register(`${rule}.vcpu`)} inputMode="numeric" className="input max-w-xs" />}
    </Field>
  );
}

function RuleCard({
  id,
  title,
  text,
  register,
  control,
  error,
  children,
}: {
  id: RuleId;
  title: string;
  text: string;
  register: UseFormRegister<GuardrailFormValues>;
  control: Control<GuardrailFormValues>;
  error: string | undefined;
  children?: ReactNode;
}) {
  const on = useWatch({ control, name: `${id}.on` as Path<GuardrailFormValues> }) as boolean;
  const switchId = `rule-${id}`;
  return (
    <div className={`rounded-md border p-3 ${on ? 'border-blue-200 bg-blue-50/30' : 'border-slate-200'}`} data-testid={`guardrail-${id}`} data-on={on ? 'true' : 'false'}>
      <div className="flex items-start gap-2">
        <input id={switchId} type="checkbox" role="switch" {...register(`${id}.on` as Path<GuardrailFormValues>)} className="mt-0.5 h-4 w-4 rounded border-slate-300" />
        <label htmlFor={switchId} className="text-sm text-slate-800">
          <span className="font-medium">{title}</span>
          <span className="block text-xs text-slate-600">{text}</span>
        </label>
      </div>
      {on && (
        <div className="mt-3 space-y-3 pl-6">
          <fieldset>
            <legend className="label">Level</legend>
            <div className="grid gap-1 sm:grid-cols-3">
              {LEVELS.map((l) => (
                <label key={l.id} className="flex cursor-pointer items-start gap-2 rounded-md border border-slate-200 bg-white p-2 text-sm has-[:checked]:border-blue-600">
                  <input type="radio" value={l.id} {...register(`${id}.level` as Path<GuardrailFormValues>)} className="mt-0.5" aria-label={`${title}: ${l.label}`} />
                  <span>
                    <span className="font-medium">{l.label}</span>
                    <span className="block text-xs text-slate-600">{l.text}</span>
                  </span>
                </label>
              ))}
            </div>
          </fieldset>
          {children}
          {error && (
            <p className="field-error" data-testid="field-error">
              {error}
            </p>
          )}
        </div>
      )}
    </div>
  );
}

/** The rules form itself (read-only unless `editable`), for a project's loaded rules. */
export function GuardrailRulesForm({
  projectId,
  data,
  choices,
  editable,
  onSaved,
}: {
  projectId: string;
  data: Guardrails;
  choices: Choices;
  editable: boolean;
  onSaved: (g: Guardrails) => void;
}) {
  const [formError, setFormError] = useState('');
  const [saved, setSaved] = useState(false);
  const values = useMemo(() => fromRules(data.rules), [data.rules]);
  const {
    register,
    control,
    handleSubmit,
    setError,
    reset,
    formState: { errors, isSubmitting, isDirty },
  } = useForm<GuardrailFormValues>({ resolver: zodResolver(guardrailFormSchema), values });

  const onSubmit = handleSubmit(async (v) => {
    setFormError('');
    setSaved(false);
    try {
      const g = await api.putGuardrails(projectId, toRules(v));
      reset(fromRules(g.rules));
      setSaved(true);
      onSaved(g);
    } catch (e) {
      const err = toApiError(e);
      const path = formPathOf(err.field);
      if (path) setError(path as Path<GuardrailFormValues>, { type: 'server', message: err.message });
      else setFormError(err.message);
    }
  });

  const ruleError = (id: RuleId): string | undefined => {
    const node = errors[id] as Record<string, unknown> | undefined;
    if (!node) return undefined;
    // Messages the parameter fields show themselves are not repeated.
    if (id === 'max_vcpu_per_resource' || id === 'max_vcpu_per_project' || id === 'max_monthly_cost') {
      const { vcpu: _v, usd: _u, ...rest } = node;
      return firstMessage(rest);
    }
    if (id === 'required_tags') {
      const tags = node.tags as unknown;
      const own = (tags as { message?: string } | undefined)?.message ?? (tags as { root?: { message?: string } } | undefined)?.root?.message;
      const { tags: _t, ...rest } = node;
      return own ?? firstMessage(rest);
    }
    return firstMessage(node);
  };

  return (
    <form onSubmit={onSubmit} noValidate className="space-y-3" data-testid="guardrails-form">
      <fieldset disabled={!editable} className="space-y-3">
        {RULES.map((r) => (
          <RuleCard key={r.id} id={r.id} title={r.title} text={r.text} register={register} control={control} error={ruleError(r.id)}>
            {r.id === 'allowed_clouds' && (
              <CheckList
                control={control}
                name="allowed_clouds.clouds"
                testId="allowed_clouds-clouds"
                options={CLOUDS.map((c) => ({ id: c, label: choices[c].name }))}
              />
            )}
            {r.id === 'allowed_regions' && <PerCloudPicker control={control} rule="allowed_regions" kind="regions" choices={choices} />}
            {r.id === 'allowed_sizes' && <PerCloudPicker control={control} rule="allowed_sizes" kind="sizes" choices={choices} />}
            {(r.id === 'max_vcpu_per_resource' || r.id === 'max_vcpu_per_project') && (
              <VcpuField rule={r.id} register={register} error={errors[r.id]?.vcpu?.message} />
            )}
            {r.id === 'required_tags' && <TagRows control={control} register={register} errors={errors} />}
            {r.id === 'max_monthly_cost' && (
              <Field label="Most per month (USD)" error={errors.max_monthly_cost?.usd?.message}>
                {(p) => <input {...p} {...register('max_monthly_cost.usd')} inputMode="decimal" className="input max-w-xs" />}
              </Field>
            )}
          </RuleCard>
        ))}
      </fieldset>
      <ErrorAlert error={formError} />
      {saved && !isDirty && (
        <Notice tone="success" testId="guardrails-saved">
          Guardrails saved.
        </Notice>
      )}
      {editable && (
        <button type="submit" className="btn btn-primary" disabled={isSubmitting || !isDirty}>
          {isSubmitting ? 'Saving…' : 'Save guardrails'}
        </button>
      )}
    </form>
  );
}

/** The project's guardrails: every rule with on/off, level and parameters; owners and admins save with PUT. */
export function GuardrailsEditor({ projectId, editable }: { projectId: string; editable: boolean }) {
  const guardrails = useAsync(() => api.getGuardrails(projectId), `guardrails:${projectId}`);
  const catalog = useAsync(loadCatalog, 'catalog');
  const choices = catalogChoices(catalog.data);

  return (
    <section className="card lg:col-span-3" aria-labelledby="guardrails-title" data-testid="guardrails">
      <h2 id="guardrails-title" className="mb-1 text-base font-semibold">
        Guardrails
      </h2>
      <p className="mb-3 text-sm text-slate-600">
        Rules every order and plan in this project is checked against.
        {guardrails.data?.updated_at && <> Last changed {formatDateTime(guardrails.data.updated_at)}.</>}
      </p>
      {!editable && (
        <div className="mb-3">
          <Notice>Only owners and admins can change guardrails.</Notice>
        </div>
      )}
      {(guardrails.loading && !guardrails.data) || (catalog.loading && !catalog.data) ? (
        <Loading />
      ) : guardrails.data ? (
        <GuardrailRulesForm
          projectId={projectId}
          data={guardrails.data}
          choices={choices}
          editable={editable}
          onSaved={(g) => guardrails.setData(() => g)}
        />
      ) : null}
      <ErrorAlert error={guardrails.error ?? catalog.error} onRetry={guardrails.error ? guardrails.reload : catalog.reload} />
    </section>
  );
}
