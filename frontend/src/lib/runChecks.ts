import { api } from '../api/endpoints';
import { toApiError } from '../api/client';
import type { GuardrailCheck } from '../api/types';

/** A run's guardrail checks; a server without the checks endpoint (404) has none to show. */
export async function loadRunChecks(runId: string): Promise<GuardrailCheck[]> {
  try {
    return (await api.listRunChecks(runId)).items;
  } catch (e) {
    if (toApiError(e).status === 404) return [];
    throw e;
  }
}
