// A project's guardrails as the settings form edits them, and back to the
// spec's GuardrailRules. Every rule has an on/off switch and a level; a rule
// that is off is absent from the document (the server's "absent is off").
import { z } from 'zod';
import type { Catalog, CloudId, GuardrailCheck, GuardrailLevel, GuardrailRuleId, GuardrailRules } from '../api/types';
import { CLOUDS } from '../api/types';
import { compileNamePattern } from './schemas';

export const LEVELS: readonly { id: GuardrailLevel; label: string; text: string }[] = [
  { id: 'advisory', label: 'Advisory', text: 'Shown on the order; never blocks.' },
  { id: 'soft', label: 'Soft', text: 'Blocks, but an owner or admin may go ahead with a reason (audited).' },
  { id: 'hard', label: 'Hard', text: 'Blocks always.' },
];

/** The rules of the editor, in the order it shows them, with a line saying what each does. */
export const RULES: readonly { id: Exclude<GuardrailRuleId, 'protected'>; title: string; text: string }[] = [
  { id: 'allowed_clouds', title: 'Allowed clouds', text: 'Orders may only use these clouds.' },
  { id: 'allowed_regions', title: 'Allowed regions', text: 'Per cloud, the regions orders may use; a cloud with none chosen is not restricted.' },
  { id: 'allowed_sizes', title: 'Allowed VM sizes', text: 'Per cloud, the VM sizes orders may use; a cloud with none chosen is not restricted.' },
  { id: 'max_vcpu_per_resource', title: 'vCPU cap per VM', text: 'The most vCPUs one VM may have.' },
  { id: 'max_vcpu_per_project', title: 'vCPU cap for the project', text: 'The vCPUs of all the project’s VMs, this order included.' },
  { id: 'required_tags', title: 'Required tags', text: 'Every order must carry these tags; a pattern is a POSIX regular expression the whole value must match.' },
  { id: 'max_monthly_cost', title: 'Maximum monthly cost per order', text: 'The monthly cost of one resource as ordered, at catalog prices.' },
  { id: 'budget', title: 'Monthly budget', text: 'The project’s monthly budget (set above) as a rule; without this rule the budget blocks always.' },
  { id: 'no_public_buckets', title: 'No public buckets', text: 'Storage may not be readable by anyone.' },
];

export type RuleId = (typeof RULES)[number]['id'];

interface Switch {
  on: boolean;
  level: GuardrailLevel;
}
type PerCloud = Record<CloudId, string[]>;

export interface GuardrailFormValues {
  allowed_clouds: Switch & { clouds: CloudId[] };
  allowed_regions: Switch & { regions: PerCloud };
  allowed_sizes: Switch & { sizes: PerCloud };
  max_vcpu_per_resource: Switch & { vcpu: string };
  max_vcpu_per_project: Switch & { vcpu: string };
  required_tags: Switch & { tags: { key: string; pattern: string }[] };
  max_monthly_cost: Switch & { usd: string };
  budget: Switch;
  no_public_buckets: Switch;
}

const emptyPerCloud = (): PerCloud => ({ aws: [], azure: [], gcp: [], sandbox: [] });

function perCloud(src: Partial<Record<CloudId, string[]>> | undefined): PerCloud {
  const out = emptyPerCloud();
  for (const c of CLOUDS) out[c] = [...(src?.[c] ?? [])];
  return out;
}

/** The form's values for a project's rules (an absent rule is off, at level hard, with empty parameters). */
export function fromRules(r: GuardrailRules): GuardrailFormValues {
  const sw = (x: { level: GuardrailLevel } | undefined, fallback: GuardrailLevel = 'hard'): Switch => ({
    on: Boolean(x),
    level: x?.level ?? fallback,
  });
  return {
    allowed_clouds: { ...sw(r.allowed_clouds), clouds: [...(r.allowed_clouds?.clouds ?? [])] },
    allowed_regions: { ...sw(r.allowed_regions), regions: perCloud(r.allowed_regions?.regions) },
    allowed_sizes: { ...sw(r.allowed_sizes), sizes: perCloud(r.allowed_sizes?.sizes) },
    max_vcpu_per_resource: { ...sw(r.max_vcpu_per_resource), vcpu: r.max_vcpu_per_resource ? String(r.max_vcpu_per_resource.vcpu) : '' },
    max_vcpu_per_project: { ...sw(r.max_vcpu_per_project), vcpu: r.max_vcpu_per_project ? String(r.max_vcpu_per_project.vcpu) : '' },
    required_tags: {
      ...sw(r.required_tags, 'soft'),
      tags: (r.required_tags?.tags ?? []).map((t) => ({ key: t.key, pattern: t.pattern ?? '' })),
    },
    max_monthly_cost: { ...sw(r.max_monthly_cost, 'soft'), usd: r.max_monthly_cost ? String(r.max_monthly_cost.usd) : '' },
    budget: sw(r.budget),
    no_public_buckets: sw(r.no_public_buckets),
  };
}

/** Only the clouds with a choice: a cloud not listed is not restricted. */
function chosenPerCloud(v: PerCloud): Partial<Record<CloudId, string[]>> {
  const out: Partial<Record<CloudId, string[]>> = {};
  for (const c of CLOUDS) {
    const list = [...new Set(v[c] ?? [])];
    if (list.length > 0) out[c] = list;
  }
  return out;
}

/** The PUT body: the rules that are on, in the spec's shape. */
export function toRules(v: GuardrailFormValues): GuardrailRules {
  const r: GuardrailRules = {};
  if (v.allowed_clouds.on) r.allowed_clouds = { level: v.allowed_clouds.level, clouds: CLOUDS.filter((c) => v.allowed_clouds.clouds.includes(c)) };
  if (v.allowed_regions.on) r.allowed_regions = { level: v.allowed_regions.level, regions: chosenPerCloud(v.allowed_regions.regions) };
  if (v.allowed_sizes.on) r.allowed_sizes = { level: v.allowed_sizes.level, sizes: chosenPerCloud(v.allowed_sizes.sizes) };
  if (v.max_vcpu_per_resource.on) r.max_vcpu_per_resource = { level: v.max_vcpu_per_resource.level, vcpu: Number(v.max_vcpu_per_resource.vcpu.trim()) };
  if (v.max_vcpu_per_project.on) r.max_vcpu_per_project = { level: v.max_vcpu_per_project.level, vcpu: Number(v.max_vcpu_per_project.vcpu.trim()) };
  if (v.required_tags.on) {
    r.required_tags = {
      level: v.required_tags.level,
      tags: v.required_tags.tags.map((t) => (t.pattern.trim() === '' ? { key: t.key.trim() } : { key: t.key.trim(), pattern: t.pattern })),
    };
  }
  if (v.max_monthly_cost.on) r.max_monthly_cost = { level: v.max_monthly_cost.level, usd: Number(v.max_monthly_cost.usd.trim()) };
  if (v.budget.on) r.budget = { level: v.budget.level };
  if (v.no_public_buckets.on) r.no_public_buckets = { level: v.no_public_buckets.level };
  return r;
}

/** The regions and VM sizes the catalog offers per cloud (regions of all kinds, sizes of the VM kind). */
export function catalogChoices(catalog: Catalog | undefined): Record<CloudId, { name: string; regions: { id: string; name: string }[]; sizes: { id: string; vcpu: number }[] }> {
  const out = {} as ReturnType<typeof catalogChoices>;
  for (const c of CLOUDS) {
    const cloud = catalog?.clouds.find((x) => x.id === c);
    const regions = new Map<string, string>();
    for (const k of cloud?.kinds ?? []) for (const reg of k.regions) if (!regions.has(reg.id)) regions.set(reg.id, reg.name);
    const vm = cloud?.kinds.find((k) => k.id === 'vm');
    out[c] = {
      name: cloud?.name ?? c,
      regions: [...regions].map(([id, name]) => ({ id, name })),
      sizes: (vm?.sizes ?? []).map((s) => ({ id: s.id, vcpu: s.vcpu })),
    };
  }
  return out;
}

const level = z.enum(['advisory', 'soft', 'hard']);
const sw = { on: z.boolean(), level };
const cloudList = z.array(z.string().max(64)).max(64, { message: 'At most 64 per cloud' });
const perCloudSchema = z.object({ aws: cloudList, azure: cloudList, gcp: cloudList, sandbox: cloudList });

function wholeNumber(max: number) {
  return z.string().superRefine((s, ctx) => {
    const t = s.trim();
    if (!/^\d+$/.test(t) || Number(t) < 1) ctx.addIssue({ code: 'custom', message: 'Enter a whole number of at least 1' });
    else if (Number(t) > max) ctx.addIssue({ code: 'custom', message: `At most ${max.toLocaleString('en-US')}` });
  });
}

const TAG_KEY = /^[^\x00]{1,128}$/; // eslint-disable-line no-control-regex

/**
 * The editor's schema. Parameters are checked only for rules that are on, so
 * a rule can be switched off without clearing a half-typed value.
 */
export const guardrailFormSchema = z
  .object({
    allowed_clouds: z.object({ ...sw, clouds: z.array(z.enum(['aws', 'azure', 'gcp', 'sandbox'])) }),
    allowed_regions: z.object({ ...sw, regions: perCloudSchema }),
    allowed_sizes: z.object({ ...sw, sizes: perCloudSchema }),
    max_vcpu_per_resource: z.object({ ...sw, vcpu: z.string() }),
    max_vcpu_per_project: z.object({ ...sw, vcpu: z.string() }),
    required_tags: z.object({ ...sw, tags: z.array(z.object({ key: z.string(), pattern: z.string() })) }),
    max_monthly_cost: z.object({ ...sw, usd: z.string() }),
    budget: z.object(sw),
    no_public_buckets: z.object(sw),
  })
  .superRefine((v, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if (v.allowed_clouds.on && v.allowed_clouds.clouds.length === 0) issue(['allowed_clouds', 'clouds'], 'Choose at least one cloud');
    if (v.allowed_regions.on && Object.values(v.allowed_regions.regions).every((l) => l.length === 0)) {
      issue(['allowed_regions', 'regions'], 'Choose at least one region');
    }
    if (v.allowed_sizes.on && Object.values(v.allowed_sizes.sizes).every((l) => l.length === 0)) {
      issue(['allowed_sizes', 'sizes'], 'Choose at least one size');
    }
    for (const [rule, max] of [
      ['max_vcpu_per_resource', 100_000],
      ['max_vcpu_per_project', 1_000_000],
    ] as const) {
      if (!v[rule].on) continue;
      const r = wholeNumber(max).safeParse(v[rule].vcpu);
      if (!r.success) issue([rule, 'vcpu'], r.error.issues[0]?.message ?? 'Invalid');
    }
    if (v.max_monthly_cost.on) {
      const t = v.max_monthly_cost.usd.trim();
      if (!/^\d+(\.\d{1,2})?$/.test(t)) issue(['max_monthly_cost', 'usd'], 'Enter an amount in USD like 250 or 99.50');
      else if (Number(t) > 1_000_000_000) issue(['max_monthly_cost', 'usd'], 'At most 1,000,000,000');
    }
    if (v.required_tags.on) {
      const tags = v.required_tags.tags;
      if (tags.length === 0) issue(['required_tags', 'tags'], 'Add at least one tag');
      if (tags.length > 20) issue(['required_tags', 'tags'], 'At most 20 tags');
      const seen = new Set<string>();
      tags.forEach((t, i) => {
        const key = t.key.trim();
        if (key === '') issue(['required_tags', 'tags', i, 'key'], 'Enter a tag key');
        else if (!TAG_KEY.test(key)) issue(['required_tags', 'tags', i, 'key'], 'At most 128 characters');
        else if (seen.has(key)) issue(['required_tags', 'tags', i, 'key'], 'This key is listed twice');
        seen.add(key);
        if (t.pattern.length > 256) issue(['required_tags', 'tags', i, 'pattern'], 'At most 256 characters');
        else if (t.pattern.trim() !== '' && !compileNamePattern(t.pattern)) {
          issue(['required_tags', 'tags', i, 'pattern'], 'Not a valid regular expression');
        }
      });
    }
  });

/**
 * The form path of a server error's field: "required_tags.tags[1].pattern"
 * → "required_tags.tags.1.pattern". A field outside the rules is null.
 */
export function formPathOf(field: string | undefined): string | null {
  if (!field) return null;
  const path = field.replace(/^rules\./, '').replace(/\[(\d+)\]/g, '.$1');
  const rule = path.split('.')[0] ?? '';
  return RULES.some((r) => r.id === rule) ? path : null;
}

// ---------------------------------------------------------------------------
// Check results, as the order form shows them.
// ---------------------------------------------------------------------------

export interface CheckGroups {
  /** Soft and hard rules broken: red. */
  blocking: GuardrailCheck[];
  /** Advisory rules broken: amber. */
  warnings: GuardrailCheck[];
  /** Rules that pass (or were overridden): collapsed. */
  passing: GuardrailCheck[];
  /** A hard rule is broken: the order cannot go. */
  hardBlocked: boolean;
  /** Only soft rules are broken: an owner or admin may go ahead with a reason. */
  softOnly: boolean;
}

export function groupChecks(checks: readonly GuardrailCheck[]): CheckGroups {
  const blocking = checks.filter((c) => c.outcome === 'blocked');
  const warnings = checks.filter((c) => c.outcome === 'warned');
  const passing = checks.filter((c) => c.outcome === 'passed' || c.outcome === 'overridden');
  const hardBlocked = blocking.some((c) => c.level === 'hard');
  return { blocking, warnings, passing, hardBlocked, softOnly: blocking.length > 0 && !hardBlocked };
}

export function ruleTitle(id: GuardrailRuleId): string {
  if (id === 'protected') return 'Protected resource';
  return RULES.find((r) => r.id === id)?.title ?? id;
}
