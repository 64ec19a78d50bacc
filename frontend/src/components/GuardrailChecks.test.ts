import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api/client';
import { api } from '../api/endpoints';
import type { GuardrailCheck } from '../api/types';
import { loadRunChecks } from '../lib/runChecks';
import { GuardrailCheckList } from './GuardrailChecks';

const check = (outcome: GuardrailCheck['outcome'], message: string, extra: Partial<GuardrailCheck> = {}): GuardrailCheck => ({
  rule: 'max_monthly_cost',
  level: 'soft',
  stage: 'plan',
  outcome,
  message,
  address: null,
  reason: null,
  overridden_by: null,
  created_at: '2026-11-30T08:00:00Z',
  ...extra,
});

afterEach(() => vi.restoreAllMocks());

describe('GuardrailCheckList', () => {
  it('lists blocked and overridden checks first, marked, with level and reason', () => {
    const html = renderToStaticMarkup(
      createElement(GuardrailCheckList, {
        items: [
          check('passed', 'region allowed', { rule: 'allowed_regions', level: 'hard', stage: 'order' }),
          check('overridden', 'over the cost cap', { reason: 'launch week' }),
          check('blocked', 'protected resource replaced', { rule: 'protected', level: 'hard', address: 'sandbox_bucket.this' }),
        ],
      }),
    );
    const order = [...html.matchAll(/data-outcome="(\w+)"/g)].map((m) => m[1]);
    expect(order).toEqual(['blocked', 'overridden', 'passed']);
    expect(html).toContain('bg-red-50'); // blocked stands out
    expect(html).toContain('bg-violet-50'); // so does overridden
    expect(html).toContain('overridden: “launch week”');
    expect(html).toContain('sandbox_bucket.this');
    expect(html).toContain('hard · on the plan');
    expect(html).toContain('soft · on the plan');
    expect(html).toContain('hard · on the order');
  });

  it('shows nothing when there are no checks', () => {
    expect(renderToStaticMarkup(createElement(GuardrailCheckList, { items: [] }))).toBe('');
  });
});

describe('loadRunChecks', () => {
  it('reads a 404 (a server without checks) as no checks', async () => {
    vi.spyOn(api, 'listRunChecks').mockRejectedValue(new ApiError(404, 'not_found', 'no such route'));
    await expect(loadRunChecks('r1')).resolves.toEqual([]);
  });
  it('passes other failures on', async () => {
    vi.spyOn(api, 'listRunChecks').mockRejectedValue(new ApiError(500, 'internal', 'boom'));
    await expect(loadRunChecks('r1')).rejects.toThrow('boom');
  });
  it('returns the items', async () => {
    vi.spyOn(api, 'listRunChecks').mockResolvedValue({ items: [check('warned', 'no owner tag')] });
    expect((await loadRunChecks('r1')).map((c) => c.outcome)).toEqual(['warned']);
  });
});
