// Guardrails in the browser: an owner sets rules in the project settings,
// then the order form checks the order live. A hard rule keeps "Create
// resource" off; a soft one yields to the owner's override with a reason.
// On the resource page the owner protects it (Destroy goes off) and adds the
// missing tag through Edit.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DESKTOP,
  RUN_TIMEOUT,
  SKIP,
  addSandboxAccount,
  clickStartingRun,
  fillVmOptions,
  launch,
  openPage,
  orderVmUpToSize,
  signupWithProject,
  submitOrder,
  uniqueEmail,
  uniqueName,
  waitForResourceStatus,
} from './helpers.mjs';

describe('guardrails', () => {
  let browser;
  before(async () => {
    if (!SKIP) browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  test('(l) blocked order: a hard size rule blocks live, a soft tag rule is overridden with a reason', { skip: SKIP, timeout: RUN_TIMEOUT * 3 + 120_000 }, async () => {
    const { page, shot, context, problems } = await openPage(browser, 'l-guardrails', DESKTOP);
    try {
      const projectId = await signupWithProject(page, { name: 'Gia Guard', email: uniqueEmail('guard'), project: 'Guarded' });
      await addSandboxAccount(page, shot, { accountName: 'sbx' });

      // The owner's rules: only sandbox.small (hard), an owner tag (soft).
      await page.goto(`/projects/${projectId}`);
      const editor = page.getByTestId('guardrails-form');
      await editor.getByRole('switch', { name: /Allowed VM sizes/ }).check();
      await editor.getByRole('radio', { name: 'Allowed VM sizes: Hard' }).check();
      await editor.getByTestId('allowed_sizes-sandbox').getByRole('checkbox', { name: /^sandbox\.small/ }).check();
      await editor.getByRole('switch', { name: /Required tags/ }).check();
      await editor.getByRole('radio', { name: 'Required tags: Soft' }).check();
      // Zod first: a required-tags rule without a tag is refused at the field.
      await editor.getByRole('button', { name: 'Save guardrails' }).click();
      await page.getByTestId('guardrail-required_tags').getByTestId('field-error').waitFor();
      await editor.getByRole('button', { name: 'Add a tag' }).click();
      await editor.getByLabel('Tag 1 key').fill('owner');
      await shot('rules');
      await editor.getByRole('button', { name: 'Save guardrails' }).click();
      await page.getByTestId('guardrails-saved').waitFor();
      await page.reload();
      const saved = page.getByTestId('guardrails-form');
      assert.equal(await saved.getByRole('switch', { name: /Allowed VM sizes/ }).isChecked(), true, 'the size rule was not saved');
      assert.equal(await saved.getByRole('radio', { name: 'Allowed VM sizes: Hard' }).isChecked(), true);
      assert.equal(await saved.getByTestId('allowed_sizes-sandbox').getByRole('checkbox', { name: /^sandbox\.large/ }).isChecked(), false);
      assert.equal(await saved.getByLabel('Tag 1 key').inputValue(), 'owner');
      await shot('rules-saved');

      // The order form: a disallowed size shows the violation live, in red.
      await page.goto(`/resources/new?project_id=${encodeURIComponent(projectId)}`);
      await orderVmUpToSize(page, shot, { accountName: 'sbx', size: 'sandbox.large' });
      const panel = page.getByTestId('guardrail-panel');
      await page.locator('[data-testid="guardrail-panel"][data-state="hard"]').waitFor();
      const sizeCheck = panel.locator('[data-testid="guardrail-check"][data-rule="allowed_sizes"]');
      assert.equal(await sizeCheck.getAttribute('data-outcome'), 'blocked');
      assert.equal(await sizeCheck.getAttribute('data-level'), 'hard');
      await shot('hard-blocked-live');
      await page.getByRole('button', { name: 'Next' }).click();
      await fillVmOptions(page, { vmName: uniqueName('guarded') });
      await page.getByTestId('guardrail-hard-block').waitFor();
      assert.equal(await page.getByRole('button', { name: 'Create resource' }).isDisabled(), true, 'a hard block left Create on');
      assert.equal(await page.getByTestId('override-reason').count(), 0, 'a hard block offered an override');
      await shot('hard-blocked-submit-off');

      // An allowed size: only the soft tag rule is broken; the owner overrides it.
      await page.getByRole('button', { name: 'Back' }).click();
      await page.getByTestId('size-sandbox.small').check();
      await page.getByRole('button', { name: 'Next' }).click();
      await page.locator('[data-testid="guardrail-panel"][data-state="soft"]').waitFor();
      const tagCheck = panel.locator('[data-testid="guardrail-check"][data-rule="required_tags"]');
      assert.equal(await tagCheck.getAttribute('data-outcome'), 'blocked');
      assert.equal(await panel.locator('[data-testid="guardrail-check"][data-rule="allowed_sizes"][data-outcome="blocked"]').count(), 0);
      const create = page.getByRole('button', { name: 'Create resource' });
      assert.equal(await create.isDisabled(), true, 'a soft block without a reason left Create on');
      await page.getByLabel('Override with a reason').fill('e2e: the demo VM has no owner yet');
      await shot('soft-override');
      assert.equal(await create.isDisabled(), false);
      await submitOrder(page);
      assert.match(page.url(), /\/resources\/[^/]+$/);
      await shot('ordered');
      await waitForResourceStatus(page, 'active');

      // Protection: the owner's switch; Destroy is off, with the reason, while it holds.
      await page.getByTestId('protection-toggle').check();
      await page.getByTestId('resource-protected').waitFor();
      assert.equal(await page.getByRole('button', { name: 'Destroy' }).isDisabled(), true, 'Destroy is on for a protected resource');
      assert.match(await page.getByTestId('destroy-protected').innerText(), /protected/);
      await shot('protected');
      await page.reload();
      await page.getByTestId('resource-protected').waitFor();
      await page.getByTestId('protection-toggle').uncheck();
      await page.getByTestId('resource-protected').waitFor({ state: 'detached' });
      assert.equal(await page.getByRole('button', { name: 'Destroy' }).isDisabled(), false);

      // Edit: the owner tag the soft rule wanted; an update run starts and the tag shows.
      await page.getByRole('button', { name: 'Edit' }).click();
      const edit = page.getByTestId('edit-dialog');
      // Checked live as in the order form: the tag is still missing.
      await edit.locator('[data-testid="edit-guardrails"][data-state="soft"][data-checking="false"]').waitFor();
      await edit.getByLabel('Override with a reason').waitFor();
      await edit.getByRole('button', { name: 'Add a tag' }).click();
      await edit.getByLabel('Tag 1 key').fill('owner');
      await edit.getByLabel('Tag 1 value').fill('gia');
      await edit.locator('[data-testid="edit-guardrails"][data-state="ok"][data-checking="false"]').waitFor();
      assert.equal(await edit.getByLabel('Override with a reason').count(), 0);
      await shot('edit-tags');
      await clickStartingRun(page, edit.getByRole('button', { name: 'Save', exact: true }));
      await waitForResourceStatus(page, 'active');
      await page.reload();
      assert.match(await page.getByTestId('resource-tags').innerText(), /owner=gia/);
      await shot('tagged');
      assert.deepEqual(problems.filter((p) => !/status of 4\d\d/.test(p)), []);
    } catch (e) {
      await shot('FAILED').catch(() => {});
      throw e;
    } finally {
      await context.close();
    }
  });
});
