// Workload identity on the account form: with the operator's public URL set
// (scripts/test-web.sh sets CLOUDPLANE_PUBLIC_URL), an AWS account defaults to
// workload identity, shows the issuer, the subject format and a trust policy
// naming this project, and is added with a role ARN and no secret. Needs
// CLOUDPLANE_URL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_URL, SKIP, launch, openPage, signupWithProject, uniqueEmail, uniqueName } from './helpers.mjs';

const ROLE_ARN = 'arn:aws:iam::123456789012:role/cloudplane-runs';

describe('workload identity', () => {
  let browser;

  before(async () => {
    if (!SKIP) browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  test('(a) an AWS account defaults to workload identity and is added without a secret', { skip: SKIP, timeout: 90_000 }, async () => {
    const { page, shot, context, problems } = await openPage(browser, 'identity-a-account');
    try {
      const projectId = await signupWithProject(page, {
        name: 'Wanda Identity',
        email: uniqueEmail('wi'),
        project: uniqueName('wi'),
      });
      await page.getByLabel('Cloud', { exact: true }).selectOption('aws');
      await page.getByLabel('Account name').fill('aws-oidc');
      const kind = page.getByTestId('account-kind');
      await kind.waitFor();
      assert.equal(await kind.getByRole('radio', { name: /Workload identity/ }).isChecked(), true);
      // The help names this server as the issuer and this project in the subject.
      const help = page.getByTestId('workload-identity-help');
      await help.waitFor();
      assert.equal((await page.getByTestId('issuer-url').innerText()).trim(), BASE_URL);
      const policy = await page.getByTestId('trust-policy').innerText();
      const trust = JSON.parse(policy);
      const text = JSON.stringify(trust);
      assert.ok(text.includes('sts:AssumeRoleWithWebIdentity'), text);
      assert.ok(text.includes(`project:${projectId}:`), text);
      assert.ok(text.includes(new URL(BASE_URL).host), text);
      // No secret fields: the role ARN only.
      assert.equal(await page.getByLabel(/Secret access key/).count(), 0);
      await shot('identity-form');
      await page.getByLabel('IAM role ARN').fill(ROLE_ARN);
      await page.getByRole('button', { name: 'Add account' }).click();
      await page.getByTestId('account-added').waitFor();
      await shot('identity-added');
      // The stored account: workload identity, its role as the hint, no secret.
      const accounts = await page.evaluate(async (pid) => {
        const r = await fetch('/api/v1/auth/refresh', { method: 'POST' });
        const { access_token: token } = await r.json();
        const l = await fetch(`/api/v1/projects/${pid}/accounts`, { headers: { Authorization: `Bearer ${token}` } });
        return (await l.json()).items;
      }, projectId);
      const a = accounts.find((x) => x.name === 'aws-oidc');
      assert.ok(a, JSON.stringify(accounts));
      assert.equal(a.kind, 'workload_identity');
      assert.equal(a.audience, 'sts.amazonaws.com');
      // Stored credentials remain a choice, with the secret fields.
      await page.getByLabel('Cloud', { exact: true }).selectOption('aws');
      await page.getByTestId('account-kind').getByRole('radio', { name: /Stored credentials/ }).check();
      await page.getByLabel(/Secret access key/).waitFor();
      // The signup pages ask for a session first (401 before signing in).
      assert.deepEqual(problems.filter((p) => !/status of 401/.test(p)), []);
    } finally {
      await context.close();
    }
  });
});
