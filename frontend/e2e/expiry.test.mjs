// Expiry on the sandbox cloud: a project default TTL preselected in the order
// form, the countdown and 24 h banner on the resource, the dashboard's
// "expiring within 24 h", the reminder in the notification bell, and Extend.
// Needs CLOUDPLANE_URL with the issue-13 expiry API (ttl, extend,
// notifications, expires_before) and its scheduler running (scripts/test-web.sh sweeps every second).
// A member may not extend past the project's maximum TTL: the dialog shows
// the server's 422.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DESKTOP,
  RUN_TIMEOUT,
  SKIP,
  addSandboxAccountAndCreateVm,
  launch,
  mailedLink,
  openPage,
  signupWithProject,
  uniqueEmail,
  uniqueName,
  waitForResourceStatus,
} from './helpers.mjs';

const REMINDER_TIMEOUT = Number(process.env.CLOUDPLANE_E2E_REMINDER_TIMEOUT_MS ?? 120_000);

describe('expiry', () => {
  let browser;
  before(async () => {
    if (!SKIP) browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  test('(f) TTL: default preselected, countdown, expiring soon, reminder, extend', { skip: SKIP, timeout: RUN_TIMEOUT + REMINDER_TIMEOUT + 180_000 }, async () => {
    const { page, shot, context } = await openPage(browser, 'f-expiry', DESKTOP);
    try {
      const projectId = await signupWithProject(page, { name: 'Tia Temporary', email: uniqueEmail('ttl'), project: 'Temporary' });

      // Project settings: default 8 h, at most a week.
      await page.goto(`/projects/${projectId}`);
      const settings = page.getByTestId('lifecycle-settings');
      await settings.getByLabel('Default TTL').fill('8 hours');
      await settings.getByRole('button', { name: 'Save drift and expiry' }).click();
      await settings.getByTestId('field-error').waitFor(); // the same duration syntax as the server
      await settings.getByLabel('Default TTL').fill('8h');
      await settings.getByLabel('Maximum TTL').fill('1w');
      await settings.getByRole('button', { name: 'Save drift and expiry' }).click();
      await settings.getByText('Saved.').waitFor();
      await page.reload();
      assert.equal(await page.getByTestId('lifecycle-settings').getByLabel('Default TTL').inputValue(), '8h');
      assert.equal(await page.getByTestId('lifecycle-settings').getByLabel('Maximum TTL').inputValue(), '1w');
      await shot('settings');

      await page.goto(`/accounts/new?project_id=${encodeURIComponent(projectId)}`);
      await page.getByTestId('account-form').waitFor();
      const vmName = uniqueName('tmp');
      await addSandboxAccountAndCreateVm(page, shot, {
        accountName: 'sbx',
        vmName,
        beforeCreate: async (p) => {
          assert.equal(await p.getByRole('radio', { name: '8 hours' }).isChecked(), true, 'the project default is not preselected');
          assert.match(await p.getByTestId('ttl-expiry').innerText(), /^Expires /);
          await p.getByRole('radio', { name: 'Custom' }).check();
          await p.getByLabel('Custom TTL').fill('8 h');
          await p.getByLabel('Custom TTL').blur();
          await p.getByTestId('field-error').waitFor();
          await p.getByRole('radio', { name: '8 hours' }).check();
        },
      });

      // The countdown and the banner (it expires within 24 h).
      const countdown = page.getByTestId('expiry-countdown');
      await countdown.waitFor();
      assert.match(await countdown.innerText(), /^expires in (7 h 5\d min|8 h)$/);
      await page.getByTestId('expiry-banner').waitFor();
      await waitForResourceStatus(page, 'active');
      await shot('countdown');
      const detailUrl = page.url();

      // The list row and the dashboard show it too.
      await page.goto('/resources');
      assert.match(await page.getByTestId(`expiry-${vmName}`).innerText(), /^expires in 7 h|^expires in 8 h/);
      await page.goto('/');
      await page.getByTestId('expiring-soon').getByRole('link', { name: vmName }).waitFor();
      await shot('dashboard-expiring');

      // The 24 h reminder reaches the bell once the scheduler has run (the
      // create's run_succeeded may be there first: look for the reminder itself).
      const item = page.locator('[data-testid="notification"][data-kind^="expiring_"]').filter({ hasText: vmName }).first();
      const deadline = Date.now() + REMINDER_TIMEOUT;
      for (;;) {
        if (await page.getByTestId('notification-unread').isVisible().catch(() => false)) {
          await page.getByTestId('notification-bell').click();
          if (await item.waitFor({ timeout: 3_000 }).then(() => true, () => false)) break;
          await page.keyboard.press('Escape');
        }
        if (Date.now() > deadline) throw new Error('no expiry reminder after ' + REMINDER_TIMEOUT + ' ms');
        await page.waitForTimeout(5_000);
        await page.reload();
      }
      assert.match(await item.getAttribute('data-kind'), /^expiring_(24h|1h)$/);
      assert.match(await item.innerText(), /Expires within (24 h|the hour)/);
      await shot('notifications');
      const unreadBefore = Number(await page.getByTestId('notification-unread').innerText());
      await item.getByRole('button', { name: 'Mark read' }).click();
      await item.getByRole('button', { name: 'Mark read' }).waitFor({ state: 'detached' });
      const unreadAfter = (await page.getByTestId('notification-unread').isVisible())
        ? Number(await page.getByTestId('notification-unread').innerText())
        : 0;
      assert.equal(unreadAfter, unreadBefore - 1);
      await page.keyboard.press('Escape');

      // Extend by 24 h: the countdown moves past a day and the banner goes.
      await page.goto(detailUrl);
      await page.getByTestId('expiry-card').getByRole('button', { name: 'Extend' }).click();
      const dialog = page.getByTestId('extend-dialog');
      await dialog.waitFor();
      await dialog.getByRole('radio', { name: 'Custom' }).check();
      await dialog.getByLabel('Duration').fill('soon');
      await dialog.getByTestId('field-error').waitFor();
      assert.equal(await dialog.getByRole('button', { name: 'Extend' }).isDisabled(), true);
      await dialog.getByRole('radio', { name: '24h' }).check();
      await dialog.getByTestId('extend-new-expiry').waitFor();
      await shot('extend-dialog');
      await dialog.getByRole('button', { name: 'Extend' }).click();
      await dialog.waitFor({ state: 'hidden' });
      await page.waitForFunction(() => /^expires in 1 d/.test(document.querySelector('[data-testid="expiry-countdown"]')?.textContent ?? ''));
      assert.match(await countdown.innerText(), /^expires in 1 d (7|8) h$/);
      assert.equal(await page.getByTestId('expiry-banner').count(), 0);
      await shot('extended');
    } catch (e) {
      await shot('FAILED').catch(() => {});
      throw e;
    } finally {
      await context.close();
    }
  });

  test('(j) a member cannot extend past the project maximum: the dialog shows the 422', { skip: SKIP, timeout: RUN_TIMEOUT + 180_000 }, async () => {
    const owner = await openPage(browser, 'j-max-owner', DESKTOP);
    const member = await openPage(browser, 'j-max-member', DESKTOP);
    try {
      const projectId = await signupWithProject(owner.page, { name: 'Cora Capped', email: uniqueEmail('capowner'), project: 'Capped' });

      // At most a day; a default of 8 h.
      await owner.page.goto(`/projects/${projectId}`);
      const settings = owner.page.getByTestId('lifecycle-settings');
      await settings.getByLabel('Default TTL').fill('8h');
      await settings.getByLabel('Maximum TTL').fill('1d');
      await settings.getByRole('button', { name: 'Save drift and expiry' }).click();
      await settings.getByText('Saved.').waitFor();

      // A member joins through an invitation.
      await owner.page.goto(`/projects/${projectId}/members`);
      const memberEmail = uniqueEmail('capmember');
      await owner.page.getByTestId('invite-form').getByLabel('Email').fill(memberEmail);
      await owner.page.getByTestId('invite-form').getByLabel('Role').selectOption('member');
      await owner.page.getByRole('button', { name: 'Invite' }).click();
      await owner.page.getByTestId('invite-sent').waitFor();
      await member.page.goto(await mailedLink(memberEmail, 'invitation'));
      await member.page.getByLabel('Name').fill('Max Member');
      await member.page.getByLabel('Password').fill('correct horse battery');
      await member.page.getByRole('button', { name: 'Create account' }).click();
      await member.page.waitForURL(/\/projects$/);

      // The owner orders a VM (8 h); the member opens it.
      await owner.page.goto(`/accounts/new?project_id=${encodeURIComponent(projectId)}`);
      await owner.page.getByTestId('account-form').waitFor();
      await addSandboxAccountAndCreateVm(owner.page, owner.shot, { accountName: 'sbx', vmName: uniqueName('capped') });
      await waitForResourceStatus(owner.page, 'active');
      await member.page.goto(new URL(owner.page.url()).pathname);
      await member.page.getByTestId('expiry-countdown').waitFor();

      // A week more is past the day the project allows: 422 ttl_too_long, shown in the dialog.
      await member.page.getByTestId('expiry-card').getByRole('button', { name: 'Extend' }).click();
      const dialog = member.page.getByTestId('extend-dialog');
      await dialog.waitFor();
      await dialog.getByRole('radio', { name: 'Custom' }).check();
      await dialog.getByLabel('Duration').fill('1w');
      await dialog.getByTestId('extend-new-expiry').waitFor();
      await dialog.getByRole('button', { name: 'Extend' }).click();
      const err = dialog.getByTestId('error');
      await err.waitFor();
      assert.match(await err.innerText(), /at most 86400 seconds/);
      await member.shot('extend-refused');
      // Nothing changed: still within the day.
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await member.page.reload();
      assert.match(await member.page.getByTestId('expiry-countdown').innerText(), /^expires in (7 h|8 h)/);
    } catch (e) {
      await owner.shot('FAILED').catch(() => {});
      await member.shot('FAILED').catch(() => {});
      throw e;
    } finally {
      await owner.context.close();
      await member.context.close();
    }
  });
});
