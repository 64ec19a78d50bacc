import type { CatalogKind } from '../api/types';

/** Hours in a billing month as the clouds' price pages count them. */
export const HOURS_PER_MONTH = 730;

function roundCents(n: number): number {
  return Math.round(n * 100) / 100;
}

/**
 * Estimated monthly cost of a resource before it exists:
 * VM: the size's hourly price × 730; storage: price per GB-month × expected GB.
 * Returns null while the inputs needed are missing or invalid.
 */
export function estimateMonthlyCost(
  kind: CatalogKind | undefined,
  opts: { sizeId?: string; expectedGb?: number | string },
): number | null {
  if (!kind) return null;
  if (kind.id === 'vm') {
    const size = kind.sizes?.find((s) => s.id === opts.sizeId);
    if (!size) return null;
    return roundCents(size.hourly_usd * HOURS_PER_MONTH);
  }
  if (kind.id === 'storage') {
    const price = kind.gb_month_usd;
    const raw = typeof opts.expectedGb === 'string' ? opts.expectedGb.trim() : opts.expectedGb;
    if (price === undefined || raw === undefined || raw === '') return null;
    const gb = Number(raw);
    if (!Number.isFinite(gb) || gb <= 0) return null;
    return roundCents(price * gb);
  }
  return null;
}

interface BudgetCheck {
  /** Budget left this month, or null when the project has no budget. */
  remaining: number | null;
  /** True when adding the estimate would go over the budget. */
  exceeds: boolean;
}

export function checkBudget(
  project: { monthly_budget_usd: number | null; budget_used_usd: number } | undefined,
  estimate: number | null,
): BudgetCheck {
  if (!project || project.monthly_budget_usd === null || project.monthly_budget_usd === undefined) {
    return { remaining: null, exceeds: false };
  }
  const remaining = roundCents(project.monthly_budget_usd - (project.budget_used_usd ?? 0));
  return { remaining, exceeds: estimate !== null && estimate > remaining };
}
