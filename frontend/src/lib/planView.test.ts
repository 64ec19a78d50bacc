import { describe, expect, it } from 'vitest';
import type { GuardrailCheck, PlanAttribute } from '../api/types';
import { attrSide, costDelta, forcedBy, MASKED, sortChecks, UNKNOWN, waitingLabel } from './planView';

const attr = (a: Partial<PlanAttribute>): PlanAttribute => ({ path: 'size', before: null, after: null, sensitive: false, known: true, ...a });

describe('attrSide', () => {
  it('shows values, absence, masked and unknown values', () => {
    const a = attr({ before: 'sandbox.small', after: 'sandbox.large' });
    expect(attrSide(a, 'before')).toBe('sandbox.small');
    expect(attrSide(a, 'after')).toBe('sandbox.large');
    expect(attrSide(attr({ before: null, after: 3 }), 'before')).toBe('—');
    expect(attrSide(attr({ after: ['a'] }), 'after')).toBe('["a"]');
    expect(attrSide(attr({ before: '***', after: '***', sensitive: true }), 'before')).toBe(MASKED);
    expect(attrSide(attr({ before: null, after: '***', sensitive: true }), 'before')).toBe('—');
    expect(attrSide(attr({ before: 'i-1', after: null, known: false }), 'after')).toBe(UNKNOWN);
    expect(attrSide(attr({ before: 'i-1', after: null, known: false }), 'before')).toBe('i-1');
  });
});

describe('costDelta and forcedBy', () => {
  it('signs the monthly change', () => {
    expect(costDelta({ before_usd: 10, after_usd: 40.5, delta_usd: 30.5 })).toBe('+$30.50/month');
    expect(costDelta({ before_usd: 40, after_usd: 0, delta_usd: -40 })).toBe('−$40.00/month');
    expect(costDelta({ before_usd: 5, after_usd: 5, delta_usd: 0.001 })).toBe('no change');
  });
  it('names what forces a replace, only for a replace', () => {
    expect(forcedBy({ address: 'a', action: 'replace', replace_paths: ['name', 'region'] })).toBe('forced by: name, region');
    expect(forcedBy({ address: 'a', action: 'update', replace_paths: ['name'] })).toBe('');
    expect(forcedBy({ address: 'a', action: 'replace' })).toBe('');
  });
});

describe('sortChecks and waitingLabel', () => {
  const check = (outcome: GuardrailCheck['outcome'], rule: GuardrailCheck['rule']): GuardrailCheck => ({
    rule, level: 'soft', stage: 'plan', outcome, message: rule, address: null, reason: null, overridden_by: null, created_at: null,
  });
  it('puts blocked, then overridden, first and keeps the rest in order', () => {
    const got = sortChecks([check('passed', 'allowed_clouds'), check('warned', 'budget'), check('blocked', 'protected'),
      check('passed', 'allowed_regions'), check('overridden', 'max_monthly_cost')]);
    expect(got.map((c) => c.rule)).toEqual(['protected', 'max_monthly_cost', 'budget', 'allowed_clouds', 'allowed_regions']);
  });
  it('says what a run waits for, and nothing while it works or after it ended', () => {
    expect(waitingLabel('awaiting_approval')).toBe('waiting for approval');
    expect(waitingLabel('queued')).toBe('queued');
    expect(waitingLabel('applying')).toBeNull();
    expect(waitingLabel('succeeded')).toBeNull();
  });
});
