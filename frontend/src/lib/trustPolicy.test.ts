import { describe, expect, it } from 'vitest';
import { accountKindFor, fillAudience, issuerHost, subjectFor, trustSetup } from './trustPolicy';

describe('trust setup', () => {
  it('names the OIDC provider and conditions by the issuer host', () => {
    const t = trustSetup('aws', 'https://cp.example.com/', 'p1', 'sts.amazonaws.com');
    expect(t).not.toBeNull();
    const policy = JSON.parse(t!.text);
    const st = policy.Statement[0];
    expect(st.Action).toBe('sts:AssumeRoleWithWebIdentity');
    expect(st.Principal.Federated).toBe('arn:aws:iam::<AWS_ACCOUNT_ID>:oidc-provider/cp.example.com');
    expect(st.Condition.StringEquals['cp.example.com:aud']).toBe('sts.amazonaws.com');
    expect(st.Condition.StringLike['cp.example.com:sub']).toBe('project:p1:account:*:run_phase:*');
  });

  it('gives Azure one federated credential per phase with the exact subject', () => {
    const t = trustSetup('azure', 'https://cp.example.com', 'p1', 'api://AzureADTokenExchange')!;
    expect(t.text).toContain('"subject": "project:p1:account:<account_id>:run_phase:apply"');
    expect(t.text).toContain('"issuer": "https://cp.example.com"');
    expect(t.text.match(/"audiences"/g)).toHaveLength(3);
  });

  it('maps GCP attributes and binds the project', () => {
    const t = trustSetup('gcp', 'https://cp.example.com', 'p1', '//iam.googleapis.com/projects/1/x')!;
    expect(t.text).toContain('--issuer-uri="https://cp.example.com"');
    expect(t.text).toContain("assertion.project_id == 'p1'");
    expect(t.text).toContain('attribute.project_id/p1');
  });

  it('has nothing for the sandbox', () => {
    expect(trustSetup('sandbox', 'https://x', 'p', 'a')).toBeNull();
  });

  it('fills the audience template and builds subjects', () => {
    expect(fillAudience('//iam.googleapis.com/{workload_identity_provider}', { workload_identity_provider: 'projects/1/p' }))
      .toBe('//iam.googleapis.com/projects/1/p');
    expect(fillAudience('//iam.googleapis.com/{workload_identity_provider}', {})).toContain('{workload_identity_provider}');
    expect(subjectFor('a', 'b', 'plan')).toBe('project:a:account:b:run_phase:plan');
    expect(issuerHost('http://127.0.0.1:8080/')).toBe('127.0.0.1:8080');
  });
});

describe('account form default', () => {
  it('defaults to workload identity only where the public URL is set and the cloud offers it', () => {
    expect(accountKindFor(true, true, null)).toBe('workload_identity');
    expect(accountKindFor(true, false, null)).toBe('credentials');
    expect(accountKindFor(false, true, null)).toBe('credentials');
    expect(accountKindFor(false, true, 'workload_identity')).toBe('credentials');
    expect(accountKindFor(true, true, 'credentials')).toBe('credentials');
    expect(accountKindFor(true, false, 'workload_identity')).toBe('workload_identity');
  });
});
