// Drift on the sandbox cloud: order a VM, change it out of band through the
// sandbox API with the account's key, check now, read the before/after diff,
// then reconcile and see the cloud put back. Needs CLOUDPLANE_URL with the
// issue-13 drift API (drift-check, drift report, reconcile).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DESKTOP,
  RUN_TIMEOUT,
  SKIP,
  addSandboxAccountAndCreateVm,
  clickStartingRun,
  launch,
  openPage,
  sandboxCall,
  sandboxKey,
  signupWithProject,
  uniqueEmail,
  uniqueName,
  waitForAttr,
  waitForResourceStatus,
  waitForRunStatus,
} from './helpers.mjs';

describe('drift', () => {
  let browser;
  before(async () => {
    if (!SKIP) browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  test('(g) tags changed out of band: accept adopts the cloud values', { skip: SKIP, timeout: RUN_TIMEOUT * 4 + 120_000 }, async () => {
    const { page, shot, context } = await openPage(browser, 'g-accept', DESKTOP);
    try {
      await signupWithProject(page, { name: 'Ada Accept', email: uniqueEmail('accept'), project: 'Adopt' });
      const key = sandboxKey();
      await addSandboxAccountAndCreateVm(page, shot, { accountName: 'sbx', vmName: uniqueName('tags'), apiKey: key });
      await waitForResourceStatus(page, 'active');
      const iid = (await page.getByTestId('output-id').innerText()).trim().replace(/^sbx-/, '');
      // A tag added in the console (the platform's own tags stay as they are).
      const tags = { ...(await sandboxCall(key, 'GET', `/instances/${iid}`)).json.tags, team: 'data' };
      const oob = await sandboxCall(key, 'PATCH', `/instances/${iid}`, { tags });
      assert.equal(oob.status, 200, JSON.stringify(oob.json));

      await clickStartingRun(page, page.getByTestId('drift-panel').getByRole('button', { name: 'Check now' }));
      await waitForRunStatus(page, 'succeeded');
      await waitForAttr(page, 'drift-status', 'data-drift', 'drifted', { timeout: 60_000, reloadEvery: 5_000 });
      const row = page.getByTestId('drift-diff').locator('[data-testid^="drift-attr-tags"]').first();
      await row.waitFor();
      assert.match(await row.getByTestId('drift-after').innerText(), /data/);
      assert.equal(await page.getByTestId('accept-reason').count(), 0);
      await shot('tags-drifted');

      await clickStartingRun(page, page.getByRole('button', { name: 'Accept cloud values' }));
      await waitForRunStatus(page, 'succeeded');
      await waitForResourceStatus(page, 'active');
      assert.deepEqual((await sandboxCall(key, 'GET', `/instances/${iid}`)).json.tags, tags);
      await clickStartingRun(page, page.getByTestId('drift-panel').getByRole('button', { name: 'Check now' }));
      await waitForRunStatus(page, 'succeeded');
      await waitForAttr(page, 'drift-status', 'data-drift', 'in_sync', { timeout: 60_000, reloadEvery: 5_000 });
      await shot('accepted-in-sync');
    } catch (e) {
      await shot('FAILED').catch(() => {});
      throw e;
    } finally {
      await context.close();
    }
  });

  test('(e) out-of-band change: check now shows the diff, reconcile puts it back', { skip: SKIP, timeout: RUN_TIMEOUT * 5 + 120_000 }, async () => {
    const { page, shot, context } = await openPage(browser, 'e-drift', DESKTOP);
    try {
      const projectId = await signupWithProject(page, { name: 'Dee Drift', email: uniqueEmail('drift'), project: 'Drifty' });

      // The project's scheduled checks: hourly is kept.
      await page.goto(`/projects/${projectId}`);
      const settings = page.getByTestId('lifecycle-settings');
      await settings.getByLabel('Drift check').selectOption({ label: 'Hourly' });
      await settings.getByRole('button', { name: 'Save drift and expiry' }).click();
      await settings.getByText('Saved.').waitFor();
      await page.reload();
      assert.equal(await page.getByTestId('lifecycle-settings').getByLabel('Drift check').inputValue(), '60');
      // Off again, so no scheduled check races the ones this test starts.
      await page.getByTestId('lifecycle-settings').getByLabel('Drift check').selectOption({ label: 'Off' });
      await page.getByTestId('lifecycle-settings').getByRole('button', { name: 'Save drift and expiry' }).click();
      await page.getByTestId('lifecycle-settings').getByText('Saved.').waitFor();
      await page.goto(`/accounts/new?project_id=${encodeURIComponent(projectId)}`);
      await page.getByTestId('account-form').waitFor();

      const key = sandboxKey();
      const vmName = uniqueName('drift');
      await addSandboxAccountAndCreateVm(page, shot, { accountName: 'sbx', vmName, apiKey: key });
      await waitForResourceStatus(page, 'active');
      assert.equal(await page.getByTestId('drift-status').getAttribute('data-drift'), 'never_checked');
      await shot('active-never-checked');

      // The cloud object, as the sandbox API sees it with the account's key.
      const outputId = (await page.getByTestId('output-id').innerText()).trim();
      const iid = outputId.replace(/^sbx-/, '');
      const orig = await sandboxCall(key, 'GET', `/instances/${iid}`);
      assert.equal(orig.status, 200, JSON.stringify(orig.json));
      const ordered = orig.json.allowed_cidrs;
      assert.deepEqual(ordered, ['203.0.113.0/24', '198.51.100.7/32']);

      // Someone changes it in the cloud console.
      const oob = await sandboxCall(key, 'PATCH', `/instances/${iid}`, { allowed_cidrs: ['192.0.2.0/24'] });
      assert.equal(oob.status, 200, JSON.stringify(oob.json));

      // Check now: a drift_check run, then the diff.
      await clickStartingRun(page, page.getByTestId('drift-panel').getByRole('button', { name: 'Check now' }));
      await waitForRunStatus(page, 'succeeded');
      await waitForAttr(page, 'drift-status', 'data-drift', 'drifted', { timeout: 60_000, reloadEvery: 5_000 });
      // The check's run says what it found and points at the diff.
      await waitForAttr(page, 'drift-check-result', 'data-drift', 'drifted', { timeout: 20_000 });
      assert.match(await page.getByTestId('drift-check-result').innerText(), /^Drifted: 1 attribute differs/);
      await page.getByTestId('drift-check-result').getByRole('link', { name: /Drift panel/ }).waitFor();
      assert.match(await page.getByTestId('run-panel').locator('#run-title').innerText(), /^Drift check run/);
      assert.equal(await page.getByTestId('plan-summary').count(), 0); // a check plans nothing to apply
      const diff = page.getByTestId('drift-diff');
      await diff.waitFor();
      const row = diff.locator('[data-testid^="drift-attr-allowed_cidrs"]').first();
      await row.waitFor();
      const beforeText = await row.getByTestId('drift-before').innerText();
      const afterText = await row.getByTestId('drift-after').innerText();
      assert.match(beforeText, /203\.0\.113\.0\/24/);
      assert.match(afterText, /192\.0\.2\.0\/24/);
      assert.doesNotMatch(afterText, /203\.0\.113\.0\/24/);
      // Allowed CIDRs are not a value the catalog lets be adopted: Accept says why it is off.
      const accept = page.getByRole('button', { name: 'Accept cloud values' });
      assert.equal(await accept.isDisabled(), true);
      await page.getByTestId('accept-reason').waitFor();
      // The list shows the badge and filters on it.
      await shot('drifted-diff');
      const detailUrl = page.url();
      await page.goto('/resources?drift_status=drifted');
      assert.equal(await page.getByTestId(`drift-${vmName}`).getAttribute('data-drift'), 'drifted');
      await shot('list-filtered');
      await page.goto(detailUrl);

      // Reconcile: an update run that puts back what was ordered.
      await clickStartingRun(page, page.getByRole('button', { name: 'Reconcile' }));
      await waitForRunStatus(page, 'succeeded');
      await waitForResourceStatus(page, 'active');
      const now = await sandboxCall(key, 'GET', `/instances/${iid}`);
      assert.deepEqual(now.json.allowed_cidrs, ordered);
      await shot('reconciled');

      // A new check finds it in sync.
      await clickStartingRun(page, page.getByTestId('drift-panel').getByRole('button', { name: 'Check now' }));
      await waitForRunStatus(page, 'succeeded');
      await waitForAttr(page, 'drift-status', 'data-drift', 'in_sync', { timeout: 60_000, reloadEvery: 5_000 });
      await waitForAttr(page, 'drift-check-result', 'data-drift', 'in_sync', { timeout: 20_000 });
      await shot('in-sync');
    } catch (e) {
      await shot('FAILED').catch(() => {});
      throw e;
    } finally {
      await context.close();
    }
  });
});
