import type { CloudId, WorkloadIdentityInfo } from '../api/types';
import { trustSetup } from '../lib/trustPolicy';
import { CopyButton } from './CopyButton';

/** What the cloud needs to trust cloudplane's run tokens: issuer, subjects, audience, and a trust policy to paste. */
export function WorkloadIdentityHelp({
  cloud,
  info,
  projectId,
  audience,
}: {
  cloud: CloudId;
  info: WorkloadIdentityInfo;
  projectId: string;
  audience: string;
}) {
  const setup = trustSetup(cloud, info.issuer, projectId, audience);
  return (
    <div className="space-y-3 rounded-md bg-slate-50 p-3 text-sm" data-testid="workload-identity-help">
      <p className="text-slate-700">
        No secret is stored. Each run phase gets a short-lived token (at most 2 hours) signed by cloudplane, which the
        cloud exchanges for temporary credentials. Set up the trust once:
      </p>
      {!info.public_url_set && (
        <p className="rounded-md bg-amber-50 p-2 text-amber-900">
          The issuer URL below is this server&apos;s listen address. The cloud must reach it over HTTPS to fetch the
          keys: the operator sets CLOUDPLANE_PUBLIC_URL.
        </p>
      )}
      <dl className="grid gap-2 sm:grid-cols-[10rem_1fr]">
        <dt className="font-medium text-slate-800">Issuer URL</dt>
        <dd className="flex flex-wrap items-center gap-2">
          <code className="break-all" data-testid="issuer-url">
            {info.issuer}
          </code>
          <CopyButton value={info.issuer} label="issuer URL" />
        </dd>
        <dt className="font-medium text-slate-800">Subject</dt>
        <dd>
          <code className="break-all">{info.subject_format}</code>
        </dd>
        <dt className="font-medium text-slate-800">Audience</dt>
        <dd>
          <code className="break-all">{audience}</code>
        </dd>
      </dl>
      {setup && (
        <div className="space-y-1">
          <div className="flex items-center justify-between gap-2">
            <span className="font-medium text-slate-800">{setup.title}</span>
            <CopyButton value={setup.text} label={setup.title} />
          </div>
          <pre className="max-h-64 overflow-auto rounded bg-white p-2 text-xs" data-testid="trust-policy">
            {setup.text}
          </pre>
          <p className="text-xs text-slate-600">{setup.note}</p>
        </div>
      )}
    </div>
  );
}
