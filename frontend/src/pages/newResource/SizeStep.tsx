import type { FieldErrors, UseFormRegister } from 'react-hook-form';
import type { CatalogKind } from '../../api/types';
import type { ResourceFormValues } from '../../lib/schemas';
import { HOURS_PER_MONTH } from '../../lib/cost';
import { formatUsd, formatUsdPrecise } from '../../lib/format';

/** Step 4: a VM size with its price; storage has none to choose. */
export function SizeStep({
  kind,
  register,
  errors,
}: {
  kind: CatalogKind;
  register: UseFormRegister<ResourceFormValues>;
  errors: FieldErrors<ResourceFormValues>;
}) {
  if (kind.id === 'storage') {
    return (
      <p className="text-sm text-slate-700">
        Object storage has no size to choose: it is billed at {formatUsdPrecise(kind.gb_month_usd)} per GB stored per
        month. You enter the expected amount in the next step.
      </p>
    );
  }
  return (
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
  );
}
