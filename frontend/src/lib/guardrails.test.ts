import { describe, expect, it } from 'vitest';
import type { Catalog, GuardrailCheck, GuardrailRules } from '../api/types';
import { catalogChoices, formPathOf, fromRules, groupChecks, guardrailFormSchema, toRules, type GuardrailFormValues } from './guardrails';

const full: GuardrailRules = {
  allowed_clouds: { level: 'hard', clouds: ['aws', 'sandbox'] },
  allowed_regions: { level: 'soft', regions: { sandbox: ['sbx-east-1'], aws: ['eu-central-1', 'us-east-1'] } },
  allowed_sizes: { level: 'hard', sizes: { sandbox: ['sbx.small'] } },
  max_vcpu_per_resource: { level: 'advisory', vcpu: 4 },
  max_vcpu_per_project: { level: 'soft', vcpu: 64 },
  required_tags: { level: 'soft', tags: [{ key: 'owner' }, { key: 'cost-center', pattern: 'cc-[0-9]{4}' }] },
  max_monthly_cost: { level: 'hard', usd: 250.5 },
  budget: { level: 'soft' },
  no_public_buckets: { level: 'hard' },
};

const errorsOf = (v: GuardrailFormValues) => {
  const r = guardrailFormSchema.safeParse(v);
  return r.success ? {} : Object.fromEntries(r.error.issues.map((i) => [i.path.join('.'), i.message]));
};

describe('guardrail rules <-> editor values', () => {
  it('round-trips every rule in the spec shape', () => {
    const v = fromRules(full);
    expect(guardrailFormSchema.safeParse(v).success).toBe(true);
    expect(toRules(v)).toEqual({
      ...full,
      // per-cloud maps list clouds in a fixed order; tags without a pattern carry none
      allowed_regions: { level: 'soft', regions: { aws: ['eu-central-1', 'us-east-1'], sandbox: ['sbx-east-1'] } },
    });
  });

  it('leaves out rules that are off, and serialises nothing for an empty document', () => {
    const v = fromRules({});
    expect(Object.values(v).every((r) => r.on === false)).toBe(true);
    expect(toRules(v)).toEqual({});
    const off = fromRules(full);
    off.allowed_sizes.on = false;
    off.required_tags.on = false;
    const out = toRules(off);
    expect(out.allowed_sizes).toBeUndefined();
    expect(out.required_tags).toBeUndefined();
    expect(out.allowed_clouds).toEqual(full.allowed_clouds);
  });

  it('sends numbers as numbers, drops clouds with no choice, and an empty pattern as none', () => {
    const v = fromRules({});
    v.max_vcpu_per_resource = { on: true, level: 'hard', vcpu: ' 8 ' };
    v.max_monthly_cost = { on: true, level: 'soft', usd: '99.50' };
    v.allowed_sizes = { on: true, level: 'hard', sizes: { aws: [], azure: [], gcp: [], sandbox: ['sbx.small', 'sbx.small'] } };
    v.required_tags = { on: true, level: 'advisory', tags: [{ key: ' team ', pattern: '' }] };
    expect(toRules(v)).toEqual({
      max_vcpu_per_resource: { level: 'hard', vcpu: 8 },
      max_monthly_cost: { level: 'soft', usd: 99.5 },
      allowed_sizes: { level: 'hard', sizes: { sandbox: ['sbx.small'] } },
      required_tags: { level: 'advisory', tags: [{ key: 'team' }] },
    });
  });
});

describe('guardrail editor validation', () => {
  it('checks the parameters of rules that are on, at their field', () => {
    const v = fromRules({});
    v.allowed_clouds.on = true;
    v.allowed_regions.on = true;
    v.max_vcpu_per_resource = { on: true, level: 'hard', vcpu: '0' };
    v.max_vcpu_per_project = { on: true, level: 'hard', vcpu: '2000000' };
    v.max_monthly_cost = { on: true, level: 'hard', usd: '12.345' };
    v.required_tags = { on: true, level: 'soft', tags: [{ key: '', pattern: '' }, { key: 'a', pattern: '(' }, { key: 'a', pattern: '' }] };
    expect(errorsOf(v)).toEqual({
      'allowed_clouds.clouds': 'Choose at least one cloud',
      'allowed_regions.regions': 'Choose at least one region',
      'max_vcpu_per_resource.vcpu': 'Enter a whole number of at least 1',
      'max_vcpu_per_project.vcpu': 'At most 1,000,000',
      'max_monthly_cost.usd': 'Enter an amount in USD like 250 or 99.50',
      'required_tags.tags.0.key': 'Enter a tag key',
      'required_tags.tags.1.pattern': 'Not a valid regular expression',
      'required_tags.tags.2.key': 'This key is listed twice',
    });
  });

  it('ignores half-typed parameters of a rule that is off', () => {
    const v = fromRules({});
    v.max_vcpu_per_resource = { on: false, level: 'hard', vcpu: 'abc' };
    v.required_tags = { on: false, level: 'soft', tags: [] };
    expect(errorsOf(v)).toEqual({});
  });

  it('asks for at least one required tag', () => {
    const v = fromRules({});
    v.required_tags = { on: true, level: 'soft', tags: [] };
    expect(errorsOf(v)).toEqual({ 'required_tags.tags': 'Add at least one tag' });
  });

  it('maps the server error field to the editor field', () => {
    expect(formPathOf('required_tags.tags[1].pattern')).toBe('required_tags.tags.1.pattern');
    expect(formPathOf('allowed_regions.regions.aws')).toBe('allowed_regions.regions.aws');
    expect(formPathOf('rules.max_monthly_cost.usd')).toBe('max_monthly_cost.usd');
    expect(formPathOf('name')).toBeNull();
    expect(formPathOf(undefined)).toBeNull();
  });
});

describe('catalog choices', () => {
  it('lists each cloud’s regions of all kinds once, and its VM sizes', () => {
    const catalog = {
      version: 1,
      clouds: [
        {
          id: 'sandbox',
          name: 'Sandbox',
          simulated: true,
          credentials: [],
          kinds: [
            { id: 'vm', regions: [{ id: 'r1', name: 'One' }], sizes: [{ id: 'sbx.small', vcpu: 1 }] },
            { id: 'storage', regions: [{ id: 'r1', name: 'One' }, { id: 'r2', name: 'Two' }] },
          ],
        },
      ],
    } as unknown as Catalog;
    const c = catalogChoices(catalog);
    expect(c.sandbox.regions.map((r) => r.id)).toEqual(['r1', 'r2']);
    expect(c.sandbox.sizes).toEqual([{ id: 'sbx.small', vcpu: 1 }]);
    expect(c.aws.regions).toEqual([]);
  });
});

describe('grouping check results', () => {
  const c = (rule: GuardrailCheck['rule'], level: GuardrailCheck['level'], outcome: GuardrailCheck['outcome']): GuardrailCheck => ({
    rule,
    level,
    outcome,
    stage: 'order',
    message: `${rule} ${outcome}`,
    address: null,
    reason: null,
    overridden_by: null,
    created_at: null,
  });

  it('puts broken soft and hard rules in red, advisory in amber, the rest collapsed', () => {
    const g = groupChecks([
      c('allowed_sizes', 'hard', 'blocked'),
      c('required_tags', 'soft', 'blocked'),
      c('max_vcpu_per_resource', 'advisory', 'warned'),
      c('allowed_clouds', 'hard', 'passed'),
      c('budget', 'hard', 'passed'),
    ]);
    expect(g.blocking.map((x) => x.rule)).toEqual(['allowed_sizes', 'required_tags']);
    expect(g.warnings.map((x) => x.rule)).toEqual(['max_vcpu_per_resource']);
    expect(g.passing).toHaveLength(2);
    expect(g.hardBlocked).toBe(true);
    expect(g.softOnly).toBe(false);
  });

  it('says a soft-only block may be overridden', () => {
    const g = groupChecks([c('required_tags', 'soft', 'blocked'), c('allowed_clouds', 'hard', 'passed')]);
    expect(g.hardBlocked).toBe(false);
    expect(g.softOnly).toBe(true);
    expect(groupChecks([c('allowed_clouds', 'hard', 'passed')]).softOnly).toBe(false);
  });
});
