import { Controller, useWatch, type Control, type FieldErrors, type UseFormRegister, type UseFormSetValue } from 'react-hook-form';
import type { CatalogKind, Project } from '../../api/types';
import { LifecycleFields } from './LifecycleFields';
import type { ResourceFormValues } from '../../lib/schemas';
import { Field, Notice } from '../../components/ui';
import { TagRowsEditor } from '../../components/TagRowsEditor';

/** Step 5: the name, and the kind's options (SSH key and CIDRs, or expected GB). */
export function OptionsStep({
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
  const isPublic = useWatch({ control, name: 'public' });
  const tagErrors: Record<number, { key?: string; value?: string }> = {};
  (errors.tags ?? []).forEach?.((e, i) => {
    if (e) tagErrors[i] = { key: e.key?.message, value: e.value?.message };
  });
  return (
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
      {kind.id === 'storage' && (
        <div className="space-y-2">
          <div className="flex items-start gap-2">
            <input id="storage-public" type="checkbox" {...register('public')} className="mt-0.5 h-4 w-4 rounded border-slate-300" />
            <label htmlFor="storage-public" className="text-sm text-slate-800">
              Public bucket
              <span className="block text-xs text-slate-600">Anyone on the internet may read its objects.</span>
            </label>
          </div>
          {isPublic && (
            <Notice tone="warn" testId="public-warning">
              Everything in a public bucket can be read by anyone who has its URL. Turn this off unless the bucket serves public files.
            </Notice>
          )}
        </div>
      )}
      <Controller
        control={control}
        name="tags"
        render={({ field }) => <TagRowsEditor rows={field.value ?? []} onChange={field.onChange} errors={tagErrors} />}
      />
      {errors.tags?.message && <p className="field-error">{errors.tags.message}</p>}
      {errors.tags?.root?.message && <p className="field-error">{errors.tags.root.message}</p>}
      <LifecycleFields kind={kind} project={project} register={register} control={control} setValue={setValue} errors={errors} />
    </div>
  );
}
