// API tokens in the browser: a personal token made on the settings page is
// shown once with a copy button, works against the API, is listed with its
// last use after a reload (never its secret) and stops working when revoked;
// a project's service token is made with a role on the project's tab.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_URL, DESKTOP, SKIP, launch, openPage, signupWithProject, uniqueEmail } from './helpers.mjs';

async function apiStatus(token, path) {
  const r = await fetch(`${BASE_URL}/api/v1${path}`, { headers: { Authorization: `Bearer ${token}` } });
  return r.status;
}

describe('API tokens', () => {
  let browser;
  before(async () => {
    if (!SKIP) browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  test('(t) personal token shown once, used, revoked; a service token with a role', { skip: SKIP, timeout: 120_000 }, async () => {
    const { page, shot, context } = await openPage(browser, 't-tokens', DESKTOP);
    try {
      const projectId = await signupWithProject(page, { name: 'Tia Token', email: uniqueEmail('tokens'), project: 'Scripted' });
      await page.getByRole('link', { name: 'API tokens' }).first().click();
      await page.getByRole('button', { name: 'Create a token' }).click();
      const form = page.getByTestId('token-create-form');
      await form.getByRole('button', { name: 'Create token' }).click();
      await form.getByTestId('field-error').waitFor(); // a name is required
      await form.getByLabel('Name').fill('ci deploy');
      await form.getByLabel('Expires in (days)').fill('30');
      await shot('form');
      await form.getByRole('button', { name: 'Create token' }).click();

      const box = page.getByTestId('token-secret');
      await box.waitFor();
      const token = (await box.getByTestId('token-secret-value').innerText()).trim();
      assert.match(token, /^cpt_[0-9a-z]{26}_[0-9a-f]{64}$/);
      await box.getByRole('button', { name: 'Copy token' }).waitFor();
      assert.match(await box.innerText(), /not shown again/);
      await shot('token-once');
      assert.equal(await apiStatus(token, '/projects'), 200);
      assert.equal(await apiStatus(token, '/tokens'), 403); // read only: listing tokens needs admin
      await box.getByRole('button', { name: 'I have copied it' }).click();
      await box.waitFor({ state: 'detached' });
      assert.ok(!(await page.content()).includes(token), 'the token is still on the page');
      await page.reload();
      const row = page.getByTestId('token-row').first();
      await row.waitFor();
      assert.ok(!(await page.content()).includes(token), 'the token came back after a reload');
      assert.match(await row.innerText(), /ci deploy/);
      assert.doesNotMatch(await row.innerText(), /Never/); // used once above

      await row.getByRole('button', { name: 'Revoke' }).click();
      const dialog = page.getByTestId('revoke-token-dialog');
      await dialog.getByRole('button', { name: 'Revoke token' }).click();
      await page.getByTestId('tokens-empty').waitFor();
      assert.equal(await apiStatus(token, '/projects'), 401);

      await page.goto(`/projects/${projectId}`);
      await page.getByRole('link', { name: 'Service tokens' }).click();
      await page.getByRole('button', { name: 'Create a token' }).click();
      const pform = page.getByTestId('token-create-form');
      await pform.getByLabel('Name').fill('pipeline');
      await pform.getByLabel('Role in the project').selectOption('viewer');
      await pform.getByRole('button', { name: 'Create token' }).click();
      const pbox = page.getByTestId('token-secret');
      const svc = (await pbox.getByTestId('token-secret-value').innerText()).trim();
      assert.equal(await apiStatus(svc, `/projects/${projectId}`), 200);
      const prow = page.getByTestId('token-row').first();
      assert.match(await prow.innerText(), /Viewer/);
      await shot('service-token');
    } finally {
      await context.close();
    }
  });
});
