// What an operator pastes into a cloud so that it trusts cloudplane's run
// tokens (workload identity): the issuer, the subject format and, per cloud,
// a trust policy or the fields of a federated credential. Pure functions, so
// the text is tested and the form only shows it.
import type { AccountKind, CloudId } from '../api/types';

export type TrustSetup = {
  /** Heading of the snippet, e.g. "IAM role trust policy". */
  title: string;
  /** Copy-paste text. */
  text: string;
  /** What to do with it. */
  note: string;
};

/** The issuer without its scheme, as AWS names an OIDC provider and its condition keys. */
export function issuerHost(issuer: string): string {
  return issuer.replace(/^https?:\/\//, '').replace(/\/+$/, '');
}

/** The subject a run phase's token carries. */
export function subjectFor(projectId: string, accountId: string, phase: string): string {
  return `project:${projectId}:account:${accountId}:run_phase:${phase}`;
}

function aws(issuer: string, projectId: string, audience: string): TrustSetup {
  const host = issuerHost(issuer);
  const policy = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: `arn:aws:iam::<AWS_ACCOUNT_ID>:oidc-provider/${host}` },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          StringEquals: { [`${host}:aud`]: audience },
          // Any account of this project, any phase; narrow to run_phase:apply for a role that may change things.
          StringLike: { [`${host}:sub`]: subjectFor(projectId, '*', '*') },
        },
      },
    ],
  };
  return {
    title: 'IAM role trust policy',
    text: JSON.stringify(policy, null, 2),
    note: `First add an IAM OIDC identity provider with URL ${issuer} and audience ${audience}; then give the role this trust policy (replace <AWS_ACCOUNT_ID>). A plan-only role can require :sub to end in run_phase:plan.`,
  };
}

function azure(issuer: string, projectId: string, audience: string): TrustSetup {
  const lines = ['plan', 'apply', 'destroy'].map((phase) =>
    JSON.stringify(
      {
        name: `cloudplane-${phase}`,
        issuer,
        subject: subjectFor(projectId, '<account_id>', phase),
        audiences: [audience],
      },
      null,
      2,
    ),
  );
  return {
    title: 'Federated credentials (one per run phase)',
    text: lines.join('\n'),
    note: 'On the app registration (or user-assigned managed identity) add a federated credential for each phase, e.g. az ad app federated-credential create --id <client_id> --parameters <one of these>. Entra ID matches the subject exactly: fill in <account_id> once the account exists.',
  };
}

function gcp(issuer: string, projectId: string, audience: string): TrustSetup {
  const text = [
    `gcloud iam workload-identity-pools providers create-oidc cloudplane \\`,
    `  --location=global --workload-identity-pool=<POOL> \\`,
    `  --issuer-uri="${issuer}" \\`,
    `  --attribute-mapping="google.subject=assertion.sub,attribute.project_id=assertion.project_id,attribute.run_phase=assertion.run_phase" \\`,
    `  --attribute-condition="assertion.project_id == '${projectId}'"`,
    ``,
    `gcloud iam service-accounts add-iam-policy-binding <SA_EMAIL> \\`,
    `  --role=roles/iam.workloadIdentityUser \\`,
    `  --member="principalSet://iam.googleapis.com/projects/<PROJECT_NUMBER>/locations/global/workloadIdentityPools/<POOL>/attribute.project_id/${projectId}"`,
  ].join('\n');
  return {
    title: 'Workload identity pool provider',
    text,
    note: `Tokens are issued for the audience ${audience} (the provider's default allowed audience).`,
  };
}

/** The trust setup of a cloud, or null for a cloud without workload identity. */
export function trustSetup(cloud: CloudId | '', issuer: string, projectId: string, audience: string): TrustSetup | null {
  if (cloud === 'aws') return aws(issuer, projectId, audience);
  if (cloud === 'azure') return azure(issuer, projectId, audience);
  if (cloud === 'gcp') return gcp(issuer, projectId, audience);
  return null;
}

/** The default audience of a cloud's tokens with {field} filled from the form (GCP: the provider resource). */
export function fillAudience(template: string, values: Record<string, string | undefined>): string {
  return template.replace(/\{([a-z_]+)\}/g, (m, name: string) => {
    const v = (values[name] ?? '').trim();
    return v || m;
  });
}

/**
 * The kind an account form shows for a cloud: the user's choice, else workload identity where the operator
 * set the issuer's public URL; never workload identity for a cloud without it (the sandbox).
 */
export function accountKindFor(offersIdentity: boolean, publicUrlSet: boolean, choice: AccountKind | null): AccountKind {
  if (!offersIdentity) return 'credentials';
  return choice ?? (publicUrlSet ? 'workload_identity' : 'credentials');
}
