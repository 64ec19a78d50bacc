// Approvers see what they approve: in a project that requires approval, a
// resize's run view shows the size attribute before -> after and the monthly
// cost change, says it waits for approval (no progress bar), and applies once
// approved. Needs CLOUDPLANE_URL with plan attribute diffs (issue 14); does
// not depend on the guardrail checks endpoint.
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
  signup,
  uniqueEmail,
  uniqueName,
  waitForResourceStatus,
  waitForRunStatus,
} from './helpers.mjs';

/** The before and after text of one attribute row of the plan diff. */
async function attrRow(page, path) {
  const row = page.getByTestId('plan-attr').and(page.locator(`[data-path="${path}"]`));
  await row.waitFor({ timeout: 30_000 });
  return {
    before: (await row.getByTestId('plan-attr-before').innerText()).trim(),
    after: (await row.getByTestId('plan-attr-after').innerText()).trim(),
  };
}

/** The run panel waits: its words say so and no progress bar moves. */
async function assertWaiting(page) {
  const panel = page.getByTestId('run-panel');
  await panel.getByTestId('run-waiting-approval').waitFor();
  assert.equal(await panel.getByRole('progressbar').count(), 0);
  const rows = panel.locator('[data-testid^="progress-"]');
  for (let i = 0; i < (await rows.count()); i++) {
    assert.equal(await rows.nth(i).getAttribute('data-state'), 'waiting');
    assert.match(await rows.nth(i).innerText(), /waiting for approval/);
  }
}

describe('plan detail', () => {
  let browser;
  before(async () => {
    if (!SKIP) browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  test('(p) resize awaiting approval: the size before -> after and the cost change, then approve', { skip: SKIP, timeout: RUN_TIMEOUT * 3 + 120_000 }, async () => {
    const { page, shot, context } = await openPage(browser, 'p-plan-diff', DESKTOP);
    try {
      await signup(page, { name: 'Pat Plan', email: uniqueEmail('plan'), password: 'correct horse battery' });
      await page.getByTestId('dashboard-empty').waitFor();
      await page.goto('/projects?new=1');
      await page.getByLabel('Project name').fill('Reviewed');
      await page.getByLabel(/Require approval/).check();
      await page.getByRole('button', { name: 'Create project' }).click();
      await page.getByTestId('account-form').waitFor();
      await addSandboxAccountAndCreateVm(page, shot, { accountName: 'sbx', vmName: uniqueName('plan') });

      // The order's plan: a create, every value new.
      await waitForRunStatus(page, 'awaiting_approval');
      const created = await attrRow(page, 'size');
      assert.equal(created.before, '—');
      assert.match(created.after, /^sandbox\./);
      assert.equal(await page.getByTestId('plan-action').first().getAttribute('data-action'), 'create');
      assert.match(await page.getByTestId('plan-cost-delta').innerText(), /^\(\+\$\d/);
      await assertWaiting(page);
      await shot('order-awaiting-approval');
      await page.getByRole('button', { name: 'Approve' }).click();
      await waitForResourceStatus(page, 'active');

      // Resize to another size: the dialog's cost is the plan's.
      await page.getByRole('button', { name: 'Resize' }).click();
      const dialog = page.getByTestId('resize-dialog');
      const target = dialog.locator('input[type=radio][name=size]:not([disabled])').last();
      const newSize = await target.getAttribute('value');
      await target.check();
      const costs = (await dialog.getByText(/^Monthly cost/).innerText()).match(/\$[\d,]+\.\d{2}/g);
      assert.equal(costs?.length, 2, 'the dialog shows the cost before and after');
      await clickStartingRun(page, dialog.getByRole('button', { name: 'Resize' }));
      await waitForRunStatus(page, 'awaiting_approval');

      const size = await attrRow(page, 'size');
      assert.deepEqual(size, { before: created.after, after: newSize });
      assert.equal(await page.getByTestId('plan-attr').count(), 1, 'only the size changes');
      assert.equal(await page.getByTestId('plan-action').first().getAttribute('data-action'), 'update');
      const cost = await page.getByTestId('plan-cost').innerText();
      assert.ok(cost.includes(`${costs[0]} → ${costs[1]}`), `${cost} vs ${costs}`);
      const up = Number(costs[1].replace(/[$,]/g, '')) > Number(costs[0].replace(/[$,]/g, ''));
      assert.match(await page.getByTestId('plan-cost-delta').innerText(), up ? /^\(\+\$\d/ : /^\(−\$\d/);
      await assertWaiting(page);
      await shot('resize-awaiting-approval');

      await page.getByRole('button', { name: 'Approve' }).click();
      await waitForRunStatus(page, 'succeeded');
      await waitForResourceStatus(page, 'active');
      await shot('resized');
    } catch (e) {
      await shot('FAILED').catch(() => {});
      throw e;
    } finally {
      await context.close();
    }
  });
});
