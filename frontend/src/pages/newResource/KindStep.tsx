import type { FieldErrors, UseFormRegisterReturn } from 'react-hook-form';
import type { Account, CatalogCloud } from '../../api/types';
import type { ResourceFormValues } from '../../lib/schemas';
import { cloudLabel, formatUsdPrecise } from '../../lib/format';
import { ErrorAlert } from '../../components/ui';

/** Step 2: what to create (vm or storage) on the account's cloud. */
export function KindStep({
  cloud,
  account,
  kindField,
  errors,
}: {
  cloud: CatalogCloud | undefined;
  account: Account | undefined;
  kindField: UseFormRegisterReturn<'kind'>;
  errors: FieldErrors<ResourceFormValues>;
}) {
  return (
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
  );
}
