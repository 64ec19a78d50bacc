import { z } from 'zod';
import type { CatalogKind, CreateResourceRequest, CredentialField, GuardrailCheckRequest, NameRule } from '../api/types';
import { orderDayTwoShape, refineOrderDayTwo, toOrderDayTwo, type OrderDayTwoValues } from './dayTwoSchemas';
import { rowsToTags, tagRowsSchema, type TagRow } from './tags';

// ---------------------------------------------------------------------------
// Resource names: the rule comes from the catalog entry of the chosen kind.
// ---------------------------------------------------------------------------

const POSIX_CLASSES: Record<string, string> = {
  '[:alnum:]': 'a-zA-Z0-9',
  '[:alpha:]': 'a-zA-Z',
  '[:digit:]': '0-9',
  '[:lower:]': 'a-z',
  '[:upper:]': 'A-Z',
  '[:xdigit:]': '0-9a-fA-F',
  '[:space:]': '\\s',
};

/**
 * Compiles a catalog name pattern into a RegExp that must match the whole
 * name. POSIX bracket classes (the server may use POSIX regex) are
 * translated. Returns null when the pattern is not valid JS regex syntax; the
 * server still checks the name then.
 */
export function compileNamePattern(pattern: string): RegExp | null {
  let p = pattern;
  for (const [k, v] of Object.entries(POSIX_CLASSES)) p = p.split(k).join(v);
  try {
    return new RegExp(`^(?:${p})$`);
  } catch {
    return null;
  }
}

export function nameSchema(rule: NameRule) {
  const re = compileNamePattern(rule.pattern);
  const hint = rule.description || `Must match ${rule.pattern}`;
  let s = z
    .string()
    .trim()
    .min(rule.min, { message: `At least ${rule.min} characters. ${hint}` })
    .max(rule.max, { message: `At most ${rule.max} characters. ${hint}` });
  if (re) s = s.regex(re, { message: hint });
  return s;
}

// ---------------------------------------------------------------------------
// IP addresses and CIDR blocks (IPv4 and IPv6).
// ---------------------------------------------------------------------------

function isIPv4(s: string): boolean {
  const parts = s.split('.');
  if (parts.length !== 4) return false;
  return parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

export function isIPv6(s: string): boolean {
  if (s.length === 0 || s.length > 45) return false;
  let head = s;
  let v4Groups = 0;
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.slice(lastColon + 1).includes('.')) {
    if (!isIPv4(s.slice(lastColon + 1))) return false;
    head = s.slice(0, lastColon + 1) + '0';
    v4Groups = 1; // the dotted quad takes two groups; '0' stands for one of them
  }
  const halves = head.split('::');
  if (halves.length > 2) return false;
  const group = /^[0-9a-fA-F]{1,4}$/;
  const countGroups = (h: string): number | null => {
    if (h === '') return 0;
    const gs = h.split(':');
    return gs.every((g) => group.test(g)) ? gs.length : null;
  };
  const a = countGroups(halves[0] ?? '');
  if (a === null) return false;
  if (halves.length === 1) return a + v4Groups === 8;
  const b = countGroups(halves[1] ?? '');
  if (b === null) return false;
  return a + b + v4Groups <= 7;
}

export function isCidr(s: string): boolean {
  const slash = s.indexOf('/');
  if (slash < 0 || slash !== s.lastIndexOf('/')) return false;
  const addr = s.slice(0, slash);
  const bits = s.slice(slash + 1);
  if (!/^(0|[1-9]\d{0,2})$/.test(bits)) return false;
  const n = Number(bits);
  if (isIPv4(addr)) return n <= 32;
  if (isIPv6(addr)) return n <= 128;
  return false;
}

export const cidrSchema = z
  .string()
  .trim()
  .refine(isCidr, { message: 'Not a CIDR block (e.g. 203.0.113.0/24 or 2001:db8::/32)' });

/** Splits the text of the allowed-CIDRs box: commas, newlines or spaces. */
export function parseCidrList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

const MAX_CIDRS = 20; // the server and the modules allow 20

/** The allowed-CIDRs box as typed: at least one, each a valid CIDR block. */
export const cidrListTextSchema = z.string().superRefine((text, ctx) => {
  const items = parseCidrList(text);
  if (items.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'Enter at least one CIDR block, e.g. 203.0.113.0/24' });
    return;
  }
  if (items.length > MAX_CIDRS) {
    ctx.addIssue({ code: 'custom', message: `At most ${MAX_CIDRS} CIDR blocks` });
    return;
  }
  const bad = items.filter((c) => !isCidr(c));
  if (bad.length > 0) {
    ctx.addIssue({
      code: 'custom',
      message: `Not a CIDR block: ${bad.slice(0, 3).join(', ')} (use e.g. 203.0.113.0/24)`,
    });
  }
});

// ---------------------------------------------------------------------------
// SSH public keys (OpenSSH one-line format).
// ---------------------------------------------------------------------------

const SSH_KEY_TYPES = [
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
] as const;

function decodeBase64(b64: string): Uint8Array | null {
  try {
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

/** Returns why a string is not an OpenSSH public key, or null if it is one. */
export function sshKeyProblem(input: string): string | null {
  const key = input.trim();
  if (key === '') return 'Paste your SSH public key';
  if (key.includes('PRIVATE KEY')) return 'That is a private key. Paste the public key (the .pub file) instead.';
  if (/[\r\n]/.test(key)) return 'The public key must be a single line';
  if (key.length > 16_384) return 'The key is too long';
  const [type, body] = key.split(/\s+/);
  if (!type || !(SSH_KEY_TYPES as readonly string[]).includes(type)) {
    return `Unsupported key type. Use one of: ${SSH_KEY_TYPES.slice(0, 3).join(', ')}…`;
  }
  if (!body || !/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length % 4 !== 0) {
    return 'The key data is not valid base64';
  }
  const bytes = decodeBase64(body);
  if (!bytes || bytes.length < 4) return 'The key data is not valid base64';
  const len = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  if (len !== type.length || bytes.length < 4 + len) return 'The key data does not match its type';
  const embedded = String.fromCharCode(...bytes.subarray(4, 4 + len));
  if (embedded !== type) return 'The key data does not match its type';
  if (type === 'ssh-ed25519' && bytes.length !== 4 + len + 4 + 32) return 'The ed25519 key has the wrong length';
  return null;
}

export const sshPublicKeySchema = z.string().superRefine((v, ctx) => {
  const problem = sshKeyProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

// ---------------------------------------------------------------------------
// Storage size.
// ---------------------------------------------------------------------------

const EXPECTED_GB_MIN = 1;
const EXPECTED_GB_MAX = 1_000_000; // as the server

/** Expected storage in whole GB, as typed (string) or as a number. */
export const expectedGbSchema = z
  .union([z.string(), z.number()])
  .transform((v, ctx) => {
    const s = String(v).trim();
    if (!/^\d+$/.test(s)) {
      ctx.addIssue({ code: 'custom', message: 'Enter a whole number of GB' });
      return z.NEVER;
    }
    return Number(s);
  })
  .pipe(
    z
      .number()
      .int()
      .min(EXPECTED_GB_MIN, { message: `At least ${EXPECTED_GB_MIN} GB` })
      .max(EXPECTED_GB_MAX, { message: `At most ${EXPECTED_GB_MAX.toLocaleString('en-US')} GB` }),
  );

// ---------------------------------------------------------------------------
// The new-resource form, built from the catalog entry of the chosen kind.
// All values are strings as typed; toCreateRequest converts them.
// ---------------------------------------------------------------------------

export interface ResourceFormValues extends OrderDayTwoValues {
  project_id: string;
  account_id: string;
  kind: string;
  region: string;
  size: string;
  name: string;
  ssh_public_key: string;
  allowed_cidrs: string;
  expected_gb: string;
  /** config.tags as rows */
  tags: TagRow[];
  /** storage: config.public */
  public: boolean;
  /** a reason to go ahead despite broken soft guardrails (owners and admins) */
  override_reason: string;
}

/** A guardrail override's reason: 3 to 1000 characters when given. */
export const overrideReasonSchema = z
  .string()
  .refine((s) => s.trim() === '' || s.trim().length >= 3, { message: 'Give a reason of at least 3 characters' })
  .refine((s) => s.trim().length <= 1000, { message: 'At most 1000 characters' });

const required = (what: string) => z.string().min(1, { message: `Choose ${what}` });

/** The order form's schema for a kind, with the expiry and schedule rules. */
export function resourceFormSchema(kind: CatalogKind | undefined) {
  return resourceFormObject(kind).superRefine(refineOrderDayTwo);
}

function resourceFormObject(kind: CatalogKind | undefined) {
  const base = {
    ...orderDayTwoShape,
    project_id: required('a project'),
    account_id: required('a cloud account'),
    kind: required('what to create'),
    region: kind
      ? z.string().refine((r) => kind.regions.some((x) => x.id === r), { message: 'Choose a region' })
      : required('a region'),
    name: kind ? nameSchema(kind.name_rule) : z.string(),
    size: z.string(),
    ssh_public_key: z.string(),
    allowed_cidrs: z.string(),
    expected_gb: z.string(),
    tags: tagRowsSchema,
    public: z.boolean(),
    override_reason: overrideReasonSchema,
  };
  if (kind?.id === 'vm') {
    const sizes = kind.sizes ?? [];
    return z.object({
      ...base,
      size: z.string().refine((s) => sizes.some((x) => x.id === s), { message: 'Choose a size' }),
      ssh_public_key: sshPublicKeySchema,
      allowed_cidrs: cidrListTextSchema,
    });
  }
  if (kind?.id === 'storage') {
    return z.object({
      ...base,
      expected_gb: z.string().superRefine((v, ctx) => {
        const r = expectedGbSchema.safeParse(v);
        if (!r.success) ctx.addIssue({ code: 'custom', message: r.error.issues[0]?.message ?? 'Invalid' });
      }),
    });
  }
  return z.object(base);
}

/** config of an order: the kind's options, its tags, and public for storage. */
function orderConfig(v: ResourceFormValues, kind: CatalogKind): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  if (kind.id === 'vm') {
    config.ssh_public_key = v.ssh_public_key.trim();
    config.allowed_cidrs = parseCidrList(v.allowed_cidrs);
  } else if (kind.id === 'storage') {
    config.expected_gb = Number(v.expected_gb.trim());
    if (v.public) config.public = true;
  }
  const tags = rowsToTags(v.tags ?? []);
  if (Object.keys(tags).length > 0) config.tags = tags;
  return config;
}

export function toCreateRequest(v: ResourceFormValues, kind: CatalogKind): CreateResourceRequest {
  const body: CreateResourceRequest = {
    project_id: v.project_id,
    account_id: v.account_id,
    kind: kind.id,
    name: v.name.trim(),
    region: v.region,
    config: orderConfig(v, kind),
  };
  if (kind.id === 'vm') body.size = v.size;
  const reason = (v.override_reason ?? '').trim();
  if (reason) body.guardrail_override = { reason };
  return { ...body, ...toOrderDayTwo(v, kind.id === 'vm' && kind.stoppable) };
}

/**
 * What the live guardrail check gets for the order as typed so far; null
 * until the project, account and kind are chosen. Only what the rules look
 * at: name, region, size, tags, public and the expected GB (the cost).
 */
export function toCheckRequest(v: ResourceFormValues, kind: CatalogKind | undefined): GuardrailCheckRequest | null {
  if (!v.project_id || !v.account_id || !kind) return null;
  const body: GuardrailCheckRequest = { project_id: v.project_id, account_id: v.account_id, kind: kind.id };
  if (v.name.trim()) body.name = v.name.trim();
  if (v.region) body.region = v.region;
  if (kind.id === 'vm' && v.size) body.size = v.size;
  const config: Record<string, unknown> = {};
  const tags = rowsToTags(v.tags ?? []);
  if (Object.keys(tags).length > 0) config.tags = tags;
  if (kind.id === 'storage') {
    if (v.public) config.public = true;
    const gb = v.expected_gb.trim();
    if (/^\d+$/.test(gb) && Number(gb) >= 1) config.expected_gb = Number(gb);
  }
  if (Object.keys(config).length > 0) body.config = config;
  return body;
}

// ---------------------------------------------------------------------------
// Auth, projects, members.
// ---------------------------------------------------------------------------

export const PASSWORD_MIN = 10;

export const loginSchema = z.object({
  email: z.string().trim().min(1, { message: 'Enter your email' }),
  password: z.string().min(1, { message: 'Enter your password' }),
});

export const signupSchema = z.object({
  email: z.string().trim().min(1, { message: 'Enter your email' }).max(254),
});

/** The second step, from the mailed link: who you are and your password. */
export const completeSignupSchema = z.object({
  name: z.string().trim().min(1, { message: 'Enter your name' }).max(100, { message: 'At most 100 characters' }),
  password: z.string().max(1024, { message: 'At most 1024 characters' }),
});
// The password length rule is the server's: its 422 answer is shown under the
// field, so the form does not duplicate the rule beyond a hint.

export const projectSchema = z.object({
  name: z.string().trim().min(1, { message: 'Enter a project name' }).max(100, { message: 'At most 100 characters' }),
  require_approval: z.boolean(),
  monthly_budget_usd: z.string().refine((s) => s.trim() === '' || /^\d+(\.\d{1,2})?$/.test(s.trim()), {
    message: 'Enter an amount in USD like 250 or 99.50, or leave empty for no budget',
  }),
});

export function parseBudget(s: string): number | null {
  const t = s.trim();
  return t === '' ? null : Number(t);
}

export const memberSchema = z.object({
  email: z.string().trim().min(3, { message: 'Enter an email address' }).regex(/^[^\s@]+@[^\s@]+$/, {
    message: 'Enter an email address',
  }),
  role: z.enum(['owner', 'admin', 'member', 'viewer']),
});

// ---------------------------------------------------------------------------
// Cloud account credentials: the fields and rules of each cloud come from the
// catalog (GET /api/v1/catalog, clouds[].credentials), as the server checks them.
// ---------------------------------------------------------------------------

/** Why a pasted GCP service account key is unusable, or null. */
export function serviceAccountProblem(text: string): string | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'Not valid JSON. Upload or paste the key file downloaded from the GCP console.';
  }
  if (typeof parsed !== 'object' || parsed === null) return 'Not a service account key';
  const o = parsed as Record<string, unknown>;
  if (o.type !== 'service_account') return 'Not a service account key ("type" must be "service_account")';
  if (typeof o.private_key !== 'string' || typeof o.client_email !== 'string') {
    return 'The key file lacks private_key or client_email';
  }
  return null;
}

/** "Tenant ID" → "tenant ID", but "GCP project ID" stays. */
function lowerFirst(label: string): string {
  return /^.[a-z]/.test(label) ? label.charAt(0).toLowerCase() + label.slice(1) : label;
}

/** Why a credential value breaks its field's rule, or null. */
function credentialProblem(f: CredentialField, raw: string): string | null {
  if (f.input === 'file') {
    if (raw.trim() === '') return f.required ? 'Upload or paste the key file' : null;
    return serviceAccountProblem(raw);
  }
  const v = raw.trim();
  // A generated field may be left empty: the server makes the value.
  if (v === '') return f.required && !f.generated ? `Enter the ${lowerFirst(f.label)}` : null;
  if (f.pattern) {
    const re = compileNamePattern(f.pattern);
    if (re && !re.test(v)) return `${f.label} must be ${f.rule ?? `like ${f.pattern}`}`;
  }
  if (v.length < f.min || v.length > f.max) {
    return f.min === f.max
      ? `${f.label} must be ${f.min} characters`
      : `${f.label} must be ${f.min} to ${f.max} characters`;
  }
  return null;
}

/** The zod schema of one cloud's credentials object, as typed in the form. */
export function credentialSchema(fields: readonly CredentialField[]) {
  const shape: Record<string, z.ZodType<string, unknown>> = {};
  for (const f of fields) {
    shape[f.name] = z.preprocess(
      (v) => (typeof v === 'string' ? v : ''),
      z.string().superRefine((v, ctx) => {
        const p = credentialProblem(f, v);
        if (p) ctx.addIssue({ code: 'custom', message: p });
      }),
    );
  }
  return z.object(shape);
}

/** Only the given fields; empty optional (or generated) ones are left out; a key file is sent as is. */
export function pickCredentials(
  fields: readonly CredentialField[],
  values: Record<string, string | undefined>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fields) {
    const raw = values[f.name] ?? '';
    const v = raw.trim();
    if (v === '' && (!f.required || f.generated)) continue;
    out[f.name] = f.input === 'file' ? raw : v;
  }
  return out;
}
