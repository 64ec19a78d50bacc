import type { FieldErrors, UseFormRegister } from 'react-hook-form';
import type { CatalogKind } from '../../api/types';
import type { ResourceFormValues } from '../../lib/schemas';
import { Field } from '../../components/ui';

/** Step 3: one of the kind's regions. */
export function RegionStep({
  kind,
  register,
  errors,
}: {
  kind: CatalogKind;
  register: UseFormRegister<ResourceFormValues>;
  errors: FieldErrors<ResourceFormValues>;
}) {
  return (
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
  );
}
