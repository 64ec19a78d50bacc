import { describe, expect, it } from 'vitest';
import type { Catalog, CatalogKind, CloudId } from '../api/types';
import catalogJson from '../../../backend/data/catalog.json';
import {
  cidrListTextSchema,
  cidrSchema,
  compileNamePattern,
  credentialSchema,
  expectedGbSchema,
  isCidr,
  isIPv6,
  nameSchema,
  parseCidrList,
  pickCredentials,
  resourceFormSchema,
  sshKeyProblem,
  sshPublicKeySchema,
  toCheckRequest,
  toCreateRequest,
  type ResourceFormValues,
} from './schemas';

const ED25519 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAMKERgfJi00O0JJUFdeZWxzeoGIj5adpKuyucDHztXc dev@example';
const RSA =
  'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDDle/KfRWfDpD1F5+pNfNUEkL/fGMGrJL3T6zhGZYosPXsxTf3zKplj1iYjVvj6io6tOdX5+7pRVk7LE6jn5AlEHq4PbA7l5SKdITdZziFhVgtgOX+ZFAY7ez6fcj/3NZbBCynBcc+j/fB3xRbwK4oYZxMQdCDaasO7BfdG92Ysz8nCgR5fdgXfoRnJZKpgV1ci4IuMAFaNRiAB6x00G6U06augTclWshw0bmQnGudP4vWhyQvmyTdcNxCcBr+g/dZCpKXIJT1+pI4575ByYZgrV8m0z6ptWd/W2q4URWj6MjYRMjXuaB7NygNybgXvkfpy2+VhzJP6Di8D6255p6J rsa@test';
const ECDSA =
  'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEL9+O/xvthmg2fJmipcBLafRb0rSqF8zKDNKnfbJQoqEXM4Dc0l/HmgDqrnQk/7j+dHLss30891tOkNkJ4O/5M=';

// Not annotated: the fixtures carry the schedules fields the catalog is gaining.
const vmKindSizes = [
  { id: 'small', vcpu: 1, memory_gib: 1, hourly_usd: 0.01, source: '', retrieved: '2026-01-01', price_region: '', stopped_monthly_cost_usd: 0, stopped_source: '' },
  { id: 'large', vcpu: 4, memory_gib: 16, hourly_usd: 0.2, source: '', retrieved: '2026-01-01', price_region: '', stopped_monthly_cost_usd: 0, stopped_source: '' },
];
const vmKind = {
  id: 'vm',
  stoppable: true,
  label: 'Virtual machine',
  module: 'sandbox_vm',
  name_rule: {
    pattern: '^[a-z][a-z0-9-]*[a-z0-9]$',
    min: 3,
    max: 20,
    description: 'Lower-case letters, digits and hyphens; starts with a letter',
  },
  regions: [
    { id: 'sbx-east-1', name: 'Sandbox East' },
    { id: 'sbx-west-1', name: 'Sandbox West' },
  ],
  sizes: vmKindSizes,
} as CatalogKind;

const storageKind = {
  id: 'storage',
  stoppable: false,
  label: 'Object storage',
  module: 'sandbox_storage',
  name_rule: { pattern: '[a-z0-9][a-z0-9.-]+', min: 3, max: 63, description: 'bucket name' },
  regions: [{ id: 'sbx-east-1', name: 'Sandbox East' }],
  gb_month_usd: 0.023,
} as CatalogKind;

describe('name rule from the catalog', () => {
  const schema = nameSchema(vmKind.name_rule);

  it('accepts names matching the pattern within min/max', () => {
    expect(schema.safeParse('web-1').success).toBe(true);
    expect(schema.safeParse('abc').success).toBe(true);
    expect(schema.safeParse('a'.repeat(20)).success).toBe(true);
  });

  it('rejects names outside the pattern and reports the rule description', () => {
    const r = schema.safeParse('Web_1');
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toContain('Lower-case letters');
    expect(schema.safeParse('1web').success).toBe(false);
    expect(schema.safeParse('web-').success).toBe(false);
  });

  it('enforces min and max length', () => {
    expect(schema.safeParse('ab').success).toBe(false);
    expect(schema.safeParse('a'.repeat(21)).success).toBe(false);
  });

  it('anchors unanchored patterns so the whole name must match', () => {
    const s = nameSchema(storageKind.name_rule);
    expect(s.safeParse('my.bucket-1').success).toBe(true);
    expect(s.safeParse('my bucket').success).toBe(false);
    expect(s.safeParse('UPPER').success).toBe(false);
  });

  it('translates POSIX bracket classes and tolerates invalid patterns', () => {
    const re = compileNamePattern('[[:lower:]][[:alnum:]]*');
    expect(re?.test('aB3')).toBe(true);
    expect(re?.test('3ab')).toBe(false);
    expect(compileNamePattern('([')).toBeNull();
    // with an invalid pattern only length is checked (the server checks the rest)
    const s = nameSchema({ pattern: '([', min: 2, max: 4, description: '' });
    expect(s.safeParse('zz').success).toBe(true);
    expect(s.safeParse('zzzzz').success).toBe(false);
  });
});

describe('CIDR', () => {
  it('accepts IPv4 and IPv6 blocks', () => {
    for (const c of ['0.0.0.0/0', '203.0.113.0/24', '10.1.2.3/32', '2001:db8::/32', '::/0', '::ffff:10.0.0.0/104']) {
      expect(isCidr(c), c).toBe(true);
      expect(cidrSchema.safeParse(c).success, c).toBe(true);
    }
  });

  it('rejects malformed blocks', () => {
    for (const c of [
      '203.0.113.0',
      '203.0.113.0/33',
      '256.0.0.0/8',
      '1.2.3/8',
      '01.2.3.4/8',
      '1.2.3.4/08',
      '1.2.3.4/-1',
      'abc/24',
      '2001:db8::1::/64',
      '2001:db8::/129',
      '1.2.3.4/24/1',
      '',
    ]) {
      expect(isCidr(c), c).toBe(false);
    }
  });

  it('validates IPv6 group counts', () => {
    expect(isIPv6('1:2:3:4:5:6:7:8')).toBe(true);
    expect(isIPv6('1:2:3:4:5:6:7')).toBe(false);
    expect(isIPv6('1:2:3:4:5:6:7:8:9')).toBe(false);
    expect(isIPv6('1:2:3:4:5:6:1.2.3.4')).toBe(true);
    expect(isIPv6('12345::')).toBe(false);
  });

  it('splits the list on commas and newlines', () => {
    expect(parseCidrList('10.0.0.0/8, 192.168.0.0/16\n\n203.0.113.7/32 ,')).toEqual([
      '10.0.0.0/8',
      '192.168.0.0/16',
      '203.0.113.7/32',
    ]);
  });

  it('list schema needs at least one block and names the bad ones', () => {
    expect(cidrListTextSchema.safeParse('10.0.0.0/8\n192.168.1.0/24').success).toBe(true);
    const empty = cidrListTextSchema.safeParse(' , \n');
    expect(empty.success).toBe(false);
    const bad = cidrListTextSchema.safeParse('10.0.0.0/8, 10.0.0.300/32');
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.message).toContain('10.0.0.300/32');
  });
});

describe('SSH public key', () => {
  it('accepts real ed25519, rsa and ecdsa public keys', () => {
    expect(sshKeyProblem(ED25519)).toBeNull();
    expect(sshKeyProblem(RSA)).toBeNull();
    expect(sshKeyProblem(ECDSA)).toBeNull();
    expect(sshPublicKeySchema.safeParse(`  ${ED25519}\n`).success).toBe(true);
  });

  it('rejects a private key with a specific message', () => {
    expect(sshKeyProblem('-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNz\n-----END OPENSSH PRIVATE KEY-----')).toMatch(
      /private key/,
    );
  });

  it('rejects unknown types, bad base64 and mismatched type', () => {
    expect(sshKeyProblem('ssh-dss AAAAB3NzaC1kc3MAAACBAP')).toMatch(/Unsupported/);
    expect(sshKeyProblem('ssh-ed25519 not*base64')).toMatch(/base64/);
    expect(sshKeyProblem('ssh-ed25519')).toMatch(/base64/);
    // an rsa body labelled as ed25519
    expect(sshKeyProblem(`ssh-ed25519 ${RSA.split(' ')[1]}`)).toMatch(/does not match/);
    expect(sshKeyProblem('')).toMatch(/Paste/);
    expect(sshPublicKeySchema.safeParse('hello world').success).toBe(false);
  });

  it('rejects a truncated ed25519 key', () => {
    const body = ED25519.split(' ')[1]!;
    const truncated = body.slice(0, 40);
    expect(sshKeyProblem(`ssh-ed25519 ${truncated}`)).not.toBeNull();
  });
});

describe('expected_gb', () => {
  it('accepts whole numbers in range, as string or number', () => {
    expect(expectedGbSchema.parse('100')).toBe(100);
    expect(expectedGbSchema.parse(' 1 ')).toBe(1);
    expect(expectedGbSchema.parse(100000)).toBe(100000);
  });

  it('rejects zero, negatives, fractions, text and too large values', () => {
    for (const v of ['0', '-5', '1.5', 'ten', '', '1000001', 2.5, 0]) {
      expect(expectedGbSchema.safeParse(v).success, String(v)).toBe(false);
    }
  });
});

const baseValues: ResourceFormValues = {
  project_id: 'p1',
  account_id: 'a1',
  kind: 'vm',
  region: 'sbx-east-1',
  size: 'small',
  name: 'web-1',
  ssh_public_key: ED25519,
  allowed_cidrs: '203.0.113.0/24',
  expected_gb: '',
  ttl_choice: 'none',
  ttl_custom: '',
  schedule_on: false,
  schedule_stop: '',
  schedule_start: '',
  schedule_timezone: 'UTC',
  tags: [],
  public: false,
  override_reason: '',
};

describe('resource form schema', () => {
  it('validates a VM with the kind-specific fields', () => {
    const s = resourceFormSchema(vmKind);
    expect(s.safeParse(baseValues).success).toBe(true);
    const bad = s.safeParse({ ...baseValues, size: 'huge', region: 'mars-1', allowed_cidrs: 'x' });
    expect(bad.success).toBe(false);
    const paths = bad.error?.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['size', 'region', 'allowed_cidrs']));
  });

  it('does not ask storage for VM fields, but for expected_gb', () => {
    const s = resourceFormSchema(storageKind);
    const v = { ...baseValues, kind: 'storage', name: 'logs-bucket', size: '', ssh_public_key: '', allowed_cidrs: '' };
    expect(s.safeParse({ ...v, expected_gb: '50' }).success).toBe(true);
    const bad = s.safeParse({ ...v, expected_gb: '0' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['expected_gb']);
  });

  it('builds the API request with parsed config', () => {
    expect(toCreateRequest({ ...baseValues, allowed_cidrs: '10.0.0.0/8,\n203.0.113.0/24' }, vmKind)).toEqual({
      project_id: 'p1',
      account_id: 'a1',
      kind: 'vm',
      name: 'web-1',
      region: 'sbx-east-1',
      size: 'small',
      config: { ssh_public_key: ED25519, allowed_cidrs: ['10.0.0.0/8', '203.0.113.0/24'] },
    });
    const st = toCreateRequest({ ...baseValues, kind: 'storage', expected_gb: ' 40 ' }, storageKind);
    expect(st.config).toEqual({ expected_gb: 40 });
    expect(st.size).toBeUndefined();
  });
});

describe('order tags, public buckets and guardrail overrides', () => {
  const tagged = { ...baseValues, tags: [{ key: ' owner ', value: ' ada ' }, { key: 'cost-center', value: 'cc-1234' }] };

  it('sends tags as config.tags, public only for storage that asks, and an override with its reason', () => {
    const vm = toCreateRequest({ ...tagged, public: true, override_reason: '  needed for the demo ' }, vmKind);
    expect(vm.config).toEqual({
      ssh_public_key: ED25519,
      allowed_cidrs: ['203.0.113.0/24'],
      tags: { owner: 'ada', 'cost-center': 'cc-1234' },
    });
    expect(vm.guardrail_override).toEqual({ reason: 'needed for the demo' });
    const st = toCreateRequest({ ...baseValues, kind: 'storage', expected_gb: '5', public: true }, storageKind);
    expect(st.config).toEqual({ expected_gb: 5, public: true });
    expect(st.guardrail_override).toBeUndefined();
    expect(toCreateRequest({ ...baseValues, kind: 'storage', expected_gb: '5' }, storageKind).config).toEqual({ expected_gb: 5 });
  });

  it('refuses tag rows without a key or with a key twice, and a reason too short', () => {
    const s = resourceFormSchema(vmKind);
    const r = s.safeParse({ ...baseValues, tags: [{ key: '', value: 'x' }, { key: 'a', value: '' }, { key: 'a', value: '' }], override_reason: 'ok' });
    expect(r.success).toBe(false);
    expect(Object.fromEntries(r.error!.issues.map((i) => [i.path.join('.'), i.message]))).toEqual({
      'tags.0.key': 'Enter a key, or remove the row',
      'tags.2.key': 'This key is listed twice',
      override_reason: 'Give a reason of at least 3 characters',
    });
    expect(s.safeParse(tagged).success).toBe(true);
  });

  it('builds the live check request from what is typed so far', () => {
    expect(toCheckRequest({ ...baseValues, account_id: '' }, vmKind)).toBeNull();
    expect(toCheckRequest(baseValues, undefined)).toBeNull();
    expect(toCheckRequest({ ...tagged, name: '', size: '' }, vmKind)).toEqual({
      project_id: 'p1',
      account_id: 'a1',
      kind: 'vm',
      region: 'sbx-east-1',
      config: { tags: { owner: 'ada', 'cost-center': 'cc-1234' } },
    });
    expect(toCheckRequest({ ...baseValues, kind: 'storage', expected_gb: '12', public: true }, storageKind)).toEqual({
      project_id: 'p1',
      account_id: 'a1',
      kind: 'storage',
      name: 'web-1',
      region: 'sbx-east-1',
      config: { public: true, expected_gb: 12 },
    });
  });
});

// The server's own catalog: the form's credential rules are built from it.
const catalog = catalogJson as unknown as Catalog;
const fieldsOf = (cloud: CloudId) => catalog.clouds.find((c) => c.id === cloud)?.credentials ?? [];
const credentialSchemas = {
  azure: credentialSchema(fieldsOf('azure')),
  gcp: credentialSchema(fieldsOf('gcp')),
};

describe('credentials', () => {
  it('sends only the chosen cloud fields and drops an empty optional session token', () => {
    const values = {
      access_key_id: 'AKIAIOSFODNN7EXAMPLE',
      secret_access_key: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      session_token: '',
      tenant_id: 'left-over',
    };
    expect(pickCredentials(fieldsOf('aws'), values)).toEqual({
      access_key_id: 'AKIAIOSFODNN7EXAMPLE',
      secret_access_key: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    });
    expect(pickCredentials(fieldsOf('sandbox'), values)).toEqual({});
  });

  it('lets a generated field be left empty, and checks it when given', () => {
    const key = fieldsOf('sandbox').find((f) => f.name === 'api_key');
    expect(key?.generated).toBe(true);
    expect(key?.placeholder).toBe('leave empty to generate one');
    const sandbox = credentialSchema(fieldsOf('sandbox'));
    expect(sandbox.safeParse({ api_key: '' }).success).toBe(true);
    expect(sandbox.safeParse({}).success).toBe(true);
    expect(sandbox.safeParse({ api_key: 'sbx_0123456789abcdef0123456789abcdef' }).success).toBe(true);
    expect(sandbox.safeParse({ api_key: 'sbx_0123' }).success).toBe(false);
    expect(pickCredentials(fieldsOf('sandbox'), { api_key: '  ' })).toEqual({});
    expect(pickCredentials(fieldsOf('sandbox'), { api_key: 'sbx_0123456789abcdef0123456789abcdef' })).toEqual({
      api_key: 'sbx_0123456789abcdef0123456789abcdef',
    });
  });

  it('validates azure GUIDs and gcp key files', () => {
    const guid = '0d2a6c1e-9d8f-4b7a-a3c2-1e5f6a7b8c9d';
    const s = 'secret-8'; // the catalog's client_secret is 8 to 1024 characters
    expect(
      credentialSchemas.azure.safeParse({ tenant_id: guid, client_id: guid, client_secret: s, subscription_id: guid })
        .success,
    ).toBe(true);
    expect(
      credentialSchemas.azure.safeParse({ tenant_id: 'x', client_id: guid, client_secret: s, subscription_id: guid })
        .success,
    ).toBe(false);
    const key = JSON.stringify({ type: 'service_account', private_key: 'k', client_email: 'a@b.iam.gserviceaccount.com' });
    expect(credentialSchemas.gcp.safeParse({ service_account_json: key, project_id: 'my-project-1' }).success).toBe(true);
    expect(credentialSchemas.gcp.safeParse({ service_account_json: '{"type":"user"}', project_id: 'my-project-1' }).success).toBe(
      false,
    );
  });
});
