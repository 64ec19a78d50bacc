// The resource life cycle on the simulated sandbox cloud: order a VM, follow
// its run live, see its IP and cost, destroy it; and the approval flow.
// Needs CLOUDPLANE_URL with the resource API and sandbox modules working.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DESKTOP,
  PHONE,
  RUN_TIMEOUT,
  SKIP,
  addSandboxAccountAndCreateVm,
  launch,
  openPage,
  signup,
  signupWithProject,
  uniqueEmail,
  uniqueName,
  waitForResourceStatus,
} from './helpers.mjs';

async function allProgressComplete(page) {
  const bars = page.locator('[data-testid^="progress-"]');
  const n = await bars.count();
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    if ((await bars.nth(i).getAttribute('data-state')) !== 'complete') return false;
    if ((await bars.nth(i).getAttribute('aria-valuenow')) !== '100') return false;
  }
  return true;
}

describe('resource flow', () => {
  let browser;
  before(async () => {
    if (!SKIP) browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  test('(c) sandbox VM: create, watch it become active, see its cost, destroy it', { skip: SKIP, timeout: RUN_TIMEOUT * 2 + 120_000 }, async () => {
    const { page, shot, context } = await openPage(browser, 'c-flow', DESKTOP);
    const streamUrls = [];
    page.on('request', (r) => {
      if (/\/api\/v1\/runs\/[^/]+\/events/.test(r.url()) && !r.url().includes('format=json')) streamUrls.push(r.url());
    });
    try {
      // A new user has no project yet: signing up asks for one first.
      await signupWithProject(page, { name: 'Flo Flow', email: uniqueEmail('flow'), project: 'Playground' });
      await shot('first-project');

      const vmName = uniqueName('web');
      await addSandboxAccountAndCreateVm(page, shot, { accountName: 'sandbox', vmName });
      await page.getByTestId('simulated').first().waitFor();
      await shot('run-started');

      // Progress bars appear once the plan is known, then fill up.
      await page.locator('[data-testid^="progress-"]').first().waitFor({ timeout: RUN_TIMEOUT });
      await waitForResourceStatus(page, 'active');
      await page.waitForFunction(
        () => [...document.querySelectorAll('[data-testid^="progress-"]')].every((b) => b.getAttribute('data-state') === 'complete'),
        null,
        { timeout: 10_000 },
      );
      assert.ok(await allProgressComplete(page), 'not every progress bar is complete');
      const ip = (await page.getByTestId('output-public_ip').innerText()).trim();
      assert.match(ip, /^203\.0\.113\.\d{1,3}$/);
      const logText = await page.getByTestId('run-log').innerText();
      assert.ok(logText.split('\n').length > 1, 'the log is empty');
      // The live stream opened with a run ticket, never the access token in the URL.
      assert.ok(streamUrls.length > 0, 'no event stream was opened');
      for (const u of streamUrls) {
        assert.match(u, /[?&]ticket=/);
        assert.doesNotMatch(u, /access_token/);
      }
      await shot('active');
      await page.setViewportSize(PHONE);
      await shot('active-phone');
      await page.setViewportSize(DESKTOP);
      const detailUrl = page.url();

      // The dashboard counts its cost.
      await page.getByRole('link', { name: 'Dashboard' }).first().click();
      const total = page.getByTestId('runrate-total');
      await total.waitFor();
      const amount = Number((await total.innerText()).replace(/[^0-9.]/g, ''));
      assert.ok(amount > 0, `run-rate total is ${amount}`);
      await page.getByTestId('count-sandbox').waitFor();
      await page.getByTestId('recent-runs').getByText(vmName).waitFor();
      await shot('dashboard');

      // Destroy it: the dialog wants the name typed.
      await page.goto(detailUrl);
      await page.getByRole('button', { name: 'Destroy' }).click();
      const dialog = page.getByTestId('destroy-dialog');
      await dialog.waitFor();
      const confirm = dialog.getByTestId('destroy-confirm');
      assert.equal(await confirm.isDisabled(), true);
      await dialog.getByTestId('destroy-confirm-input').fill(vmName.slice(0, -1));
      assert.equal(await confirm.isDisabled(), true);
      await dialog.getByTestId('destroy-confirm-input').fill(vmName);
      await shot('destroy-dialog');
      await confirm.click();
      await waitForResourceStatus(page, 'destroyed');
      await shot('destroyed');
    } catch (e) {
      await shot('FAILED').catch(() => {});
      throw e;
    } finally {
      await context.close();
    }
  });

  test('(d) approval: a project that requires approval waits for Approve', { skip: SKIP, timeout: RUN_TIMEOUT + 120_000 }, async () => {
    const { page, shot, context } = await openPage(browser, 'd-approval', DESKTOP);
    try {
      await signup(page, { name: 'Al Approver', email: uniqueEmail('approve'), password: 'correct horse battery' });
      await page.getByTestId('dashboard-empty').waitFor();
      await page.goto('/projects?new=1');
      await page.getByLabel('Project name').fill('Gated');
      await page.getByLabel(/Require approval/).check();
      await shot('project-form');
      await page.getByRole('button', { name: 'Create project' }).click();
      await page.getByTestId('account-form').waitFor();

      const vmName = uniqueName('gated');
      await addSandboxAccountAndCreateVm(page, shot, { accountName: 'sbx', vmName });
      const approve = page.getByRole('button', { name: 'Approve' });
      await approve.waitFor({ timeout: RUN_TIMEOUT });
      assert.equal(await page.getByTestId('run-status').getAttribute('data-status'), 'awaiting_approval');
      assert.notEqual(await page.getByTestId('resource-status').getAttribute('data-status'), 'active');
      await shot('awaiting-approval');
      await approve.click();
      await waitForResourceStatus(page, 'active');
      assert.match((await page.getByTestId('output-public_ip').innerText()).trim(), /^203\.0\.113\.\d{1,3}$/);
      await shot('approved-active');
    } catch (e) {
      await shot('FAILED').catch(() => {});
      throw e;
    } finally {
      await context.close();
    }
  });
});
