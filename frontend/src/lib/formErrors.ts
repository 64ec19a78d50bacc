import type { FieldValues, Path, UseFormSetError } from 'react-hook-form';
import { toApiError } from '../api/client';

/**
 * Puts an API error under the form field it names (`error.field`), trying
 * the full name, then its last segment ("config.ssh_public_key" →
 * "ssh_public_key"), then an alias. Returns the message when no field took it,
 * for a form-level alert.
 */
export function applyApiError<T extends FieldValues>(
  err: unknown,
  setError: UseFormSetError<T>,
  fields: readonly string[],
  aliases: Record<string, string> = {},
): { message: string; field: string | null } {
  const e = toApiError(err);
  if (e.field) {
    const candidates = [e.field, e.field.split('.').pop() ?? '', aliases[e.field] ?? ''];
    for (const c of candidates) {
      const target = aliases[c] ?? c;
      if (target && fields.includes(target)) {
        setError(target as Path<T>, { type: 'server', message: e.message }, { shouldFocus: true });
        return { message: '', field: target };
      }
    }
  }
  return { message: e.message, field: null };
}
