import type { Control, FieldErrors, UseFormRegister, UseFormSetValue } from 'react-hook-form';
import { useWatch } from 'react-hook-form';
import type { CatalogKind, Project } from '../../api/types';
import type { ResourceFormValues } from '../../lib/schemas';
import { TTL_PRESETS, expiryFrom, formatSeconds, ttlOf } from '../../lib/duration';
import { formatDateTime } from '../../lib/format';
import { useNow } from '../../lib/useNow';
import { ScheduleFields } from '../../components/ScheduleFields';
import { Field } from '../../components/ui';

/** Part of step 5: how long the resource lives, and (VMs that can stop) its working hours. */
export function LifecycleFields({
  kind,
  project,
  register,
  control,
  setValue,
  errors,
}: {
  kind: CatalogKind;
  project: Project | undefined;
  register: UseFormRegister<ResourceFormValues>;
  control: Control<ResourceFormValues>;
  setValue: UseFormSetValue<ResourceFormValues>;
  errors: FieldErrors<ResourceFormValues>;
}) {
  const now = useNow();
  const [choice, custom, scheduleOn, stop, start, timezone] = useWatch({
    control,
    name: ['ttl_choice', 'ttl_custom', 'schedule_on', 'schedule_stop', 'schedule_start', 'schedule_timezone'],
  });
  const ttl = ttlOf(choice, custom);
  const expiry = expiryFrom(ttl, now);
  const max = project ? project.max_ttl_seconds : null;
  const stoppable = kind.id === 'vm' && kind.stoppable;
  const options = [...TTL_PRESETS.map((p) => ({ value: p.value, label: p.label })), { value: 'custom', label: 'Custom' }, { value: 'none', label: 'None' }];

  return (
    <div className="space-y-4 border-t border-slate-100 pt-4">
      <fieldset>
        <legend className="label">Expires after</legend>
        <div className="flex flex-wrap gap-2" data-testid="ttl-choices">
          {options.map((o) => (
            <label
              key={o.value}
              className="flex cursor-pointer items-center gap-1.5 rounded-md border border-slate-200 px-3 py-1.5 text-sm has-[:checked]:border-blue-600 has-[:checked]:bg-blue-50"
            >
              <input type="radio" value={o.value} {...register('ttl_choice')} />
              {o.label}
            </label>
          ))}
        </div>
        <p className="hint">
          When it expires, a destroy run is queued.
          {max ? ` The project allows at most ${formatSeconds(max)} (owners and admins may go past it).` : ''}
        </p>
      </fieldset>
      {choice === 'custom' && (
        <Field label="Custom TTL" error={errors.ttl_custom?.message} hint="e.g. 30m, 36h, 5d, 2w">
          {(p) => <input {...p} {...register('ttl_custom')} className="input max-w-xs font-mono" autoComplete="off" spellCheck={false} />}
        </Field>
      )}
      {errors.ttl_choice?.message && (
        <p className="field-error" data-testid="field-error">
          {errors.ttl_choice.message}
        </p>
      )}
      <p className="text-sm text-slate-700" aria-live="polite" data-testid="ttl-expiry">
        {expiry ? <>Expires {formatDateTime(expiry.toISOString())}</> : choice === 'none' ? 'Does not expire.' : ''}
      </p>

      {stoppable && (
        <div className="space-y-3">
          <div className="flex items-start gap-2">
            <input id="schedule-on" type="checkbox" {...register('schedule_on')} className="mt-0.5 h-4 w-4 rounded border-slate-300" />
            <label htmlFor="schedule-on" className="text-sm text-slate-800">
              Stop outside working hours
              <span className="block text-xs text-slate-600">Stopped hours cost only the disk.</span>
            </label>
          </div>
          {scheduleOn && (
            <ScheduleFields
              value={{ stop, start, timezone }}
              onChange={(s) => {
                setValue('schedule_stop', s.stop ?? '', { shouldValidate: true });
                setValue('schedule_start', s.start ?? '', { shouldValidate: true });
                setValue('schedule_timezone', s.timezone);
              }}
            />
          )}
          {(['schedule_stop', 'schedule_start', 'schedule_timezone'] as const).map(
            (f) =>
              errors[f]?.type === 'server' && (
                <p key={f} className="field-error" data-testid="field-error">
                  {errors[f]?.message}
                </p>
              ),
          )}
        </div>
      )}
    </div>
  );
}
