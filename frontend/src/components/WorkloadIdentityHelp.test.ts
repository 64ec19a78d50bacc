import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { WorkloadIdentityInfo } from '../api/types';
import { WorkloadIdentityHelp } from './WorkloadIdentityHelp';

const info = (public_url_set: boolean): WorkloadIdentityInfo => ({
  issuer: 'https://cp.example.com',
  public_url_set,
  subject_format: 'project:<project_id>:account:<account_id>:run_phase:<plan|apply|destroy>',
  algorithm: 'RS256',
  clouds: { aws: { default_audience: 'sts.amazonaws.com' } },
});

const render = (i: WorkloadIdentityInfo) =>
  renderToStaticMarkup(
    createElement(WorkloadIdentityHelp, { cloud: 'aws', info: i, projectId: 'p1', audience: 'sts.amazonaws.com' }),
  );

describe('WorkloadIdentityHelp', () => {
  it('shows the issuer, the subject and an AWS trust policy', () => {
    const html = render(info(true));
    expect(html).toContain('https://cp.example.com');
    expect(html).toContain('run_phase:&lt;plan|apply|destroy&gt;');
    expect(html).toContain('sts:AssumeRoleWithWebIdentity');
    expect(html).toContain('oidc-provider/cp.example.com');
    expect(html).not.toContain('CLOUDPLANE_PUBLIC_URL');
  });

  it('warns when the issuer is only the listen address', () => {
    expect(render(info(false))).toContain('CLOUDPLANE_PUBLIC_URL');
  });
});
