import type { Control, FieldErrors, UseFormRegister, UseFormSetValue } from 'react-hook-form';
import type { CatalogKind, Project } from '../../api/types';
import { LifecycleFields } from './LifecycleFields';
import type { ResourceFormValues } from '../../lib/schemas';
import { Field } from '../../components/ui';

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
      <LifecycleFields kind={kind} project={project} register={register} control={control} setValue={setValue} errors={errors} />
    </div>
  );
}
