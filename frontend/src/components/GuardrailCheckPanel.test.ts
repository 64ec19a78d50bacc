import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { GuardrailCheck } from '../api/types';
import { GuardrailCheckPanel } from './GuardrailCheckPanel';

const c = (rule: GuardrailCheck['rule'], level: GuardrailCheck['level'], outcome: GuardrailCheck['outcome'], message = `${rule} ${outcome}`): GuardrailCheck => ({
  rule,
  level,
  outcome,
  message,
  stage: 'order',
  address: null,
  reason: null,
  overridden_by: null,
  created_at: null,
});

const render = (checks: GuardrailCheck[], checking = false) => renderToStaticMarkup(createElement(GuardrailCheckPanel, { checks, checking }));

describe('GuardrailCheckPanel', () => {
  it('shows broken hard and soft rules in red with their message, advisory in amber, passing ones collapsed', () => {
    const html = render([
      c('allowed_sizes', 'hard', 'blocked', 'size sandbox.large is not allowed'),
      c('max_vcpu_per_resource', 'advisory', 'warned', '4 vCPUs is above 2'),
      ...(['allowed_clouds', 'allowed_regions', 'max_vcpu_per_project', 'required_tags', 'max_monthly_cost', 'budget', 'no_public_buckets'] as const).map((r) =>
        c(r, 'hard', 'passed'),
      ),
    ]);
    expect(html).toContain('data-state="hard"');
    expect(html).toMatch(/border-red-300[^>]*data-rule="allowed_sizes"[^>]*data-outcome="blocked"/);
    expect(html).toContain('size sandbox.large is not allowed');
    expect(html).toMatch(/border-amber-300[^>]*data-rule="max_vcpu_per_resource"/);
    expect(html).toMatch(/<details[^>]*><summary[^>]*>7 rules pass<\/summary>/);
    // Red and amber first, then the passing ones inside <details>.
    expect(html.indexOf('allowed_sizes')).toBeLessThan(html.indexOf('<details'));
    expect(html.indexOf('data-rule="budget"')).toBeGreaterThan(html.indexOf('<details'));
  });

  it('says soft when only soft rules block, and what it is doing with nothing to show', () => {
    expect(render([c('required_tags', 'soft', 'blocked'), c('budget', 'hard', 'passed')])).toContain('data-state="soft"');
    expect(render([c('budget', 'hard', 'passed')])).toMatch(/data-state="ok".*1 rule passes/s);
    expect(render([], true)).toContain('Checking the project’s rules…');
    expect(render([])).toContain('This project has no guardrails.');
  });
});
