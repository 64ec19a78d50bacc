import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { api } from '../../api/endpoints';
import type { Project } from '../../api/types';
import { applyApiError } from '../../lib/formErrors';
import { DRIFT_INTERVALS } from '../../lib/drift';
import { DURATION_HINT } from '../../lib/duration';
import { lifecyclePatch, lifecycleSchema, lifecycleValues, type LifecycleValues } from '../../lib/dayTwoSchemas';
import { ErrorAlert, Field, Notice } from '../../components/ui';

const FIELDS = ['drift_interval_minutes', 'default_ttl', 'max_ttl', 'expiry_auto_approve'] as const;

/** Drift checks and expiry for a project: its own form, saved with PATCH like the other settings. */
export function LifecycleSettings({ project, editable, onSaved }: { project: Project; editable: boolean; onSaved: () => void }) {
  const current = lifecycleValues(project);
  const [formError, setFormError] = useState('');
  const [saved, setSaved] = useState(false);
  const {
    register,
    handleSubmit,
    setError,
    reset,
    formState: { errors, isSubmitting, isDirty, dirtyFields },
  } = useForm<LifecycleValues>({ resolver: zodResolver(lifecycleSchema), values: current });

  const intervals: { minutes: number; label: string }[] = [...DRIFT_INTERVALS];
  const now = Number(current.drift_interval_minutes);
  if (!intervals.some((i) => i.minutes === now)) intervals.push({ minutes: now, label: `Every ${now} minutes` });

  const onSubmit = handleSubmit(async (v) => {
    setFormError('');
    setSaved(false);
    try {
      // Only what changed: each setting is its own concern on the server.
      const p = await api.updateProject(project.id, lifecyclePatch(v, Object.keys(dirtyFields) as (keyof LifecycleValues)[]));
      reset(lifecycleValues(p));
      setSaved(true);
      onSaved();
    } catch (e) {
      const { message } = applyApiError(e, setError, FIELDS, {
        default_ttl_seconds: 'default_ttl',
        max_ttl_seconds: 'max_ttl',
      });
      if (message) setFormError(message);
    }
  });

  return (
    <section className="card lg:col-span-3" aria-labelledby="lifecycle-title">
      <h2 id="lifecycle-title" className="mb-3 text-base font-semibold">
        Drift checks and expiry
      </h2>
      <form onSubmit={onSubmit} noValidate className="space-y-4" data-testid="lifecycle-settings">
        <fieldset disabled={!editable} className="grid gap-4 md:grid-cols-3">
          <Field label="Drift check" error={errors.drift_interval_minutes?.message} hint="How often the cloud is compared with what was ordered.">
            {(p) => (
              <select {...p} {...register('drift_interval_minutes')} className="input">
                {intervals.map((i) => (
                  <option key={i.minutes} value={String(i.minutes)}>
                    {i.label}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Default TTL" error={errors.default_ttl?.message} hint="Preselected when ordering, e.g. 8h or 3d. Empty: no expiry.">
            {(p) => <input {...p} {...register('default_ttl')} className="input font-mono" autoComplete="off" placeholder="none" />}
          </Field>
          <Field label="Maximum TTL" error={errors.max_ttl?.message} hint={`Members cannot order or extend past it. ${DURATION_HINT}`}>
            {(p) => <input {...p} {...register('max_ttl')} className="input font-mono" autoComplete="off" placeholder="none" />}
          </Field>
          <div className="flex items-start gap-2 md:col-span-3">
            <input id="expiry-auto-approve" type="checkbox" role="switch" {...register('expiry_auto_approve')} className="mt-0.5 h-4 w-4 rounded border-slate-300" />
            <label htmlFor="expiry-auto-approve" className="text-sm text-slate-800">
              Approve expiry destroys automatically
              <span className="block text-xs text-slate-600">
                Otherwise an expired resource waits, “expired, awaiting destroy”, until an owner or admin approves.
              </span>
            </label>
          </div>
        </fieldset>
        <ErrorAlert error={formError} />
        {saved && !isDirty && <Notice tone="success">Saved.</Notice>}
        {editable && (
          <button type="submit" className="btn btn-primary" disabled={isSubmitting || !isDirty}>
            {isSubmitting ? 'Saving…' : 'Save drift and expiry'}
          </button>
        )}
      </form>
    </section>
  );
}
