import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { PlanSummary } from '../api/types';
import { PlanDiff } from './PlanDiff';

const render = (plan: PlanSummary) => renderToStaticMarkup(createElement(PlanDiff, { plan }));

const resize: PlanSummary = {
  add: 0,
  change: 1,
  destroy: 0,
  resources: [
    {
      address: 'sandbox_instance.this',
      action: 'update',
      type: 'sandbox_instance',
      attributes: [
        { path: 'size', before: 'sandbox.small', after: 'sandbox.large', sensitive: false, known: true },
        { path: 'tags.secret', before: '***', after: '***', sensitive: true, known: true },
        { path: 'public_ip', before: '203.0.113.9', after: null, sensitive: false, known: false },
      ],
    },
  ],
  cost: { before_usd: 14.6, after_usd: 58.4, delta_usd: 43.8 },
};

describe('PlanDiff', () => {
  it('shows each attribute before and after, masked and unknown values in words, and the cost change', () => {
    const html = render(resize);
    expect(html).toContain('sandbox_instance.this');
    expect(html).toContain('data-path="size"');
    expect(html).toMatch(/data-testid="plan-attr-before"><span[^>]*>sandbox\.small</);
    expect(html).toMatch(/data-testid="plan-attr-after"><span[^>]*>sandbox\.large</);
    expect(html).toContain('(sensitive)');
    expect(html).not.toContain('***');
    expect(html).toContain('(known after apply)');
    expect(html).toContain('+$43.80/month');
    expect(html).toContain('data-action="update"');
    expect(html).not.toContain('forced by');
  });

  it('highlights a replace and names what forces it', () => {
    const html = render({
      add: 1,
      change: 0,
      destroy: 1,
      resources: [
        {
          address: 'sandbox_bucket.this',
          action: 'replace',
          type: 'sandbox_bucket',
          replace_paths: ['name'],
          attributes: [{ path: 'name', before: 'logs-a', after: 'logs-b', sensitive: false, known: true }],
        },
      ],
    });
    expect(html).toContain('data-action="replace"');
    expect(html).toContain('replace (destroy, then create)');
    expect(html).toContain('forced by: name');
    expect(html).toContain('border-red-300'); // the resource stands out
    expect(html).not.toContain('plan-cost'); // no cost recorded: none shown
  });

  it('shows a plan made before attributes were recorded without a table', () => {
    const html = render({ add: 1, change: 0, destroy: 0, resources: [{ address: 'sandbox_instance.this', action: 'create' }] });
    expect(html).toContain('sandbox_instance.this');
    expect(html).not.toContain('<table');
  });
});
