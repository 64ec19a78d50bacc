// Invitations: an owner invites by email from the members panel; a newcomer
// joins through the mailed link by creating an account, an existing user
// accepts from their invitations page. Needs CLOUDPLANE_URL and
// CLOUDPLANE_E2E_OUTBOX.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DESKTOP, PHONE, SKIP, launch, mailedLink, openPage, requestSignup, signup, uniqueEmail, uniqueName } from './helpers.mjs';

const PASSWORD = 'correct horse battery';

async function newProject(page, name) {
  await page.goto('/projects?new=1');
  await page.getByLabel('Project name').fill(name);
  await page.getByRole('button', { name: /Create/ }).click();
  await page.waitForURL(/\/projects\/[^/]+\/accounts$/);
  return new URL(page.url()).pathname.split('/')[2];
}

describe('invitations', () => {
  let browser;
  before(async () => {
    if (!SKIP) browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  test('(i) invite a newcomer, who signs up through the link and lands in the project', { skip: SKIP, timeout: 120_000 }, async () => {
    const owner = await openPage(browser, 'i-invite-owner', DESKTOP);
    const guest = await openPage(browser, 'i-invite-guest', PHONE);
    try {
      await signup(owner.page, { name: 'Olga Owner', email: uniqueEmail('owner'), password: PASSWORD });
      await owner.page.getByTestId('dashboard-empty').waitFor();
      const projectName = uniqueName('team');
      const pid = await newProject(owner.page, projectName);
      await owner.page.goto(`/projects/${pid}/members`);
      const newcomer = uniqueEmail('newcomer');
      await owner.page.getByTestId('invite-form').getByLabel('Email').fill(newcomer);
      await owner.page.getByTestId('invite-form').getByLabel('Role').selectOption('member');
      await owner.page.getByRole('button', { name: 'Invite' }).click();
      await owner.page.getByTestId('invite-sent').waitFor();
      await owner.page.getByTestId(`pending-${newcomer}`).waitFor();
      await owner.shot('invited');

      await guest.page.goto(await mailedLink(newcomer, 'invitation'));
      await guest.page.getByLabel('Name').fill('Nina Newcomer');
      await guest.page.getByLabel('Password').fill(PASSWORD);
      await guest.shot('invite-signup');
      await guest.page.getByRole('button', { name: 'Create account' }).click();
      await guest.page.waitForURL(/\/projects$/);
      await guest.page.getByText(projectName).first().waitFor();
      await guest.shot('joined');

      await owner.page.reload();
      await owner.page.getByTestId(`member-${newcomer}`).waitFor();
      assert.equal(await owner.page.getByTestId(`pending-${newcomer}`).count(), 0);
      await owner.shot('member-listed');

      // The link is single use.
      await guest.context.clearCookies();
      await guest.page.evaluate(() => window.localStorage.clear());
      await guest.page.goto(await mailedLink(newcomer, 'invitation'));
      await guest.page.getByLabel('Name').fill('Again');
      await guest.page.getByLabel('Password').fill(PASSWORD);
      await guest.page.getByRole('button', { name: 'Create account' }).click();
      await guest.page.getByText(/invalid, used or expired/).waitFor();
    } catch (e) {
      await owner.shot('FAILED').catch(() => {});
      await guest.shot('FAILED').catch(() => {});
      throw e;
    } finally {
      await owner.context.close();
      await guest.context.close();
    }
  });

  test('(j) an existing user accepts from their invitations; sign-up with their email looks like any other', { skip: SKIP, timeout: 120_000 }, async () => {
    const owner = await openPage(browser, 'j-accept-owner', DESKTOP);
    const user = await openPage(browser, 'j-accept-user', DESKTOP);
    try {
      const userEmail = uniqueEmail('existing');
      await signup(user.page, { name: 'Erik Existing', email: userEmail, password: PASSWORD });
      await user.page.getByTestId('dashboard-empty').waitFor();

      await signup(owner.page, { name: 'Omar Owner', email: uniqueEmail('owner2'), password: PASSWORD });
      await owner.page.getByTestId('dashboard-empty').waitFor();
      const projectName = uniqueName('ops');
      const pid = await newProject(owner.page, projectName);
      await owner.page.goto(`/projects/${pid}/members`);
      await owner.page.getByTestId('invite-form').getByLabel('Email').fill(userEmail);
      await owner.page.getByTestId('invite-form').getByLabel('Role').selectOption('viewer');
      await owner.page.getByRole('button', { name: 'Invite' }).click();
      await owner.page.getByTestId('invite-sent').waitFor();

      await user.page.getByRole('link', { name: 'Invitations' }).first().click();
      const card = user.page.getByTestId(`invitation-${projectName}`);
      await card.waitFor();
      await user.shot('my-invitations');
      await card.getByRole('button', { name: 'Accept' }).click();
      await user.page.waitForURL(new RegExp(`/projects/${pid}`));
      await user.shot('accepted');

      // Signing up again with the taken email shows the same screen as a new one.
      const other = await openPage(browser, 'j-signup-taken', PHONE);
      try {
        await requestSignup(other.page, userEmail);
        await other.shot('taken-email-same-screen');
      } finally {
        await other.context.close();
      }
    } catch (e) {
      await owner.shot('FAILED').catch(() => {});
      await user.shot('FAILED').catch(() => {});
      throw e;
    } finally {
      await owner.context.close();
      await user.context.close();
    }
  });

  test('(k) signed out, an existing user logs in from the invitation page and accepts', { skip: SKIP, timeout: 120_000 }, async () => {
    const owner = await openPage(browser, 'k-login-owner', DESKTOP);
    const user = await openPage(browser, 'k-login-user', DESKTOP);
    try {
      const userEmail = uniqueEmail('returning');
      await signup(user.page, { name: 'Rita Returning', email: userEmail, password: PASSWORD });
      await user.page.getByTestId('dashboard-empty').waitFor();
      await user.page.getByRole('button', { name: 'Log out' }).click();
      await user.page.waitForURL(/\/login$/);

      await signup(owner.page, { name: 'Otto Owner', email: uniqueEmail('owner3'), password: PASSWORD });
      await owner.page.getByTestId('dashboard-empty').waitFor();
      const pid = await newProject(owner.page, uniqueName('infra'));
      await owner.page.goto(`/projects/${pid}/members`);
      await owner.page.getByTestId('invite-form').getByLabel('Email').fill(userEmail);
      await owner.page.getByRole('button', { name: 'Invite' }).click();
      await owner.page.getByTestId('invite-sent').waitFor();

      await user.page.goto(await mailedLink(userEmail, 'invitation'));
      await user.page.getByRole('link', { name: 'Log in to accept' }).click();
      await user.page.getByLabel('Email').fill(userEmail);
      await user.page.getByLabel('Password').fill(PASSWORD);
      await user.page.getByRole('button', { name: 'Log in' }).click();
      // Back on the invitation page, the token kept for this tab.
      await user.page.getByTestId('invite-accept').waitFor();
      await user.shot('signed-in-accept');
      await user.page.getByRole('button', { name: 'Accept invitation' }).click();
      await user.page.waitForURL(new RegExp(`/projects/${pid}`));
      await user.shot('accepted');
      assert.equal(await user.page.evaluate(() => window.sessionStorage.length), 0);
    } catch (e) {
      await owner.shot('FAILED').catch(() => {});
      await user.shot('FAILED').catch(() => {});
      throw e;
    } finally {
      await owner.context.close();
      await user.context.close();
    }
  });
});
