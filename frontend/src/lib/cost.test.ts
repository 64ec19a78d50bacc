import { describe, expect, it } from 'vitest';
import type { CatalogKind } from '../api/types';
import { HOURS_PER_MONTH, checkBudget, estimateMonthlyCost } from './cost';

// Not annotated: the fixtures carry the schedules fields the catalog is gaining.
const vmSizes = [
  { id: 't3.micro', vcpu: 2, memory_gib: 1, hourly_usd: 0.0104, source: '', retrieved: '2026-01-01', price_region: '', stopped_monthly_cost_usd: 0, stopped_source: '' },
  { id: 't3.large', vcpu: 2, memory_gib: 8, hourly_usd: 0.0832, source: '', retrieved: '2026-01-01', price_region: '', stopped_monthly_cost_usd: 0, stopped_source: '' },
];
const vm = {
  id: 'vm',
  stoppable: true,
  label: 'VM',
  module: 'aws_vm',
  name_rule: { pattern: '.*', min: 1, max: 10, description: '' },
  regions: [],
  sizes: vmSizes,
} as CatalogKind;
const storage = {
  id: 'storage',
  stoppable: false,
  label: 'Storage',
  module: 'aws_s3',
  name_rule: { pattern: '.*', min: 1, max: 10, description: '' },
  regions: [],
  gb_month_usd: 0.023,
} as CatalogKind;

describe('estimateMonthlyCost', () => {
  it('VM: hourly price × 730, rounded to cents', () => {
    expect(HOURS_PER_MONTH).toBe(730);
    expect(estimateMonthlyCost(vm, { sizeId: 't3.micro' })).toBe(7.59); // 7.592
    expect(estimateMonthlyCost(vm, { sizeId: 't3.large' })).toBe(60.74); // 60.736
  });

  it('VM without a known size has no estimate', () => {
    expect(estimateMonthlyCost(vm, {})).toBeNull();
    expect(estimateMonthlyCost(vm, { sizeId: 'nope' })).toBeNull();
  });

  it('storage: price per GB-month × expected GB', () => {
    expect(estimateMonthlyCost(storage, { expectedGb: 100 })).toBe(2.3);
    expect(estimateMonthlyCost(storage, { expectedGb: '1000' })).toBe(23);
    expect(estimateMonthlyCost(storage, { expectedGb: '' })).toBeNull();
    expect(estimateMonthlyCost(storage, { expectedGb: 'abc' })).toBeNull();
    expect(estimateMonthlyCost(storage, { expectedGb: -3 })).toBeNull();
  });

  it('no kind, no estimate', () => {
    expect(estimateMonthlyCost(undefined, { sizeId: 't3.micro' })).toBeNull();
  });
});

describe('checkBudget', () => {
  it('no budget: never exceeds', () => {
    expect(checkBudget({ monthly_budget_usd: null, budget_used_usd: 500 }, 1000)).toEqual({
      remaining: null,
      exceeds: false,
    });
  });

  it('compares the estimate with budget − used', () => {
    const p = { monthly_budget_usd: 100, budget_used_usd: 92.41 };
    expect(checkBudget(p, 7.59)).toEqual({ remaining: 7.59, exceeds: false });
    expect(checkBudget(p, 7.6)).toEqual({ remaining: 7.59, exceeds: true });
    expect(checkBudget(p, null)).toEqual({ remaining: 7.59, exceeds: false });
  });

  it('an already exhausted budget is exceeded by any cost', () => {
    expect(checkBudget({ monthly_budget_usd: 50, budget_used_usd: 60 }, 0.01)).toEqual({ remaining: -10, exceeds: true });
  });
});
