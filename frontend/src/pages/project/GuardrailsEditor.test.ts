import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { Guardrails } from '../../api/types';
import { catalogChoices } from '../../lib/guardrails';
import { GuardrailRulesForm } from './GuardrailsEditor';

const data: Guardrails = {
  project_id: 'p1',
  updated_at: '2026-11-30T08:00:00Z',
  updated_by: 'u1',
  rules: { allowed_clouds: { level: 'hard', clouds: ['sandbox'] }, required_tags: { level: 'soft', tags: [{ key: 'owner' }] } },
};

const render = (editable: boolean) =>
  renderToStaticMarkup(
    createElement(GuardrailRulesForm, { projectId: 'p1', data, choices: catalogChoices(undefined), editable, onSaved: () => {} }),
  );

describe('guardrails editor', () => {
  it('is read-only for members and viewers: a disabled fieldset and no save button', () => {
    const html = render(false);
    expect(html).toMatch(/<fieldset disabled=""/);
    expect(html).not.toContain('Save guardrails');
  });

  it('lets owners and admins save, showing which rules are on, their parameters and the levels explained', () => {
    const html = render(true);
    expect(html).not.toMatch(/<fieldset disabled=""/);
    expect(html).toContain('Save guardrails');
    expect(html).toMatch(/data-testid="guardrail-allowed_clouds" data-on="true"/);
    expect(html).toMatch(/data-testid="guardrail-allowed_sizes" data-on="false"/);
    // The saved tag's row (inputs get their values on mount, not in static markup).
    expect(html).toContain('Tag 1 key');
    expect(html).not.toContain('Tag 2 key');
    // Each level is explained in one line.
    expect(html).toContain('Blocks, but an owner or admin may go ahead with a reason (audited).');
  });
});
