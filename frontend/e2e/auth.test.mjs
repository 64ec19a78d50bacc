// Sign-up, validation errors from the server, log out / log in, and an
// expired session. Needs CLOUDPLANE_URL (the served UI and API).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DESKTOP, PHONE, SKIP, launch, openPage, signup, uniqueEmail } from './helpers.mjs';

const PASSWORD = 'correct horse battery';

describe('auth', () => {
  let browser;
  const email = uniqueEmail('auth');

  before(async () => {
    if (!SKIP) browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  test('(a) sign up: short password shows the server error inline, then lands on the empty dashboard', { skip: SKIP, timeout: 90_000 }, async () => {
    const { page, shot, context, problems } = await openPage(browser, 'a-signup', PHONE);
    try {
      await signup(page, { name: 'Ada Auth', email, password: 'short' });
      const password = page.getByLabel('Password');
      const err = page.getByTestId('field-error');
      await err.waitFor();
      const text = await err.innerText();
      assert.match(text, /10|password/i, `unexpected error text: ${text}`);
      // The error is tied to the password field, not a form-level alert.
      assert.equal(await password.getAttribute('aria-invalid'), 'true');
      const describedBy = (await password.getAttribute('aria-describedby')) ?? '';
      const errId = await err.getAttribute('id');
      assert.ok(describedBy.split(' ').includes(errId), 'password field is not described by the error');
      assert.match(page.url(), /\/signup\/complete#token=/);
      await shot('short-password');

      await password.fill(PASSWORD);
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.getByTestId('dashboard-empty').waitFor();
      assert.equal(new URL(page.url()).pathname, '/');
      await page.getByRole('link', { name: 'Add a cloud account' }).waitFor();
      await shot('dashboard-empty-phone');
      await page.setViewportSize(DESKTOP);
      await shot('dashboard-empty-desktop');
      // Only the token is kept in storage.
      const keys = await page.evaluate(() => Object.keys(window.localStorage));
      assert.deepEqual(keys, ['cloudplane.access_token']);
      assert.deepEqual(problems.filter((p) => !/status of 4\d\d/.test(p)), []);
    } catch (e) {
      await shot('FAILED').catch(() => {});
      throw e;
    } finally {
      await context.close();
    }
  });

  test('(b) log out, wrong password, log in; an expired session returns to the login page', { skip: SKIP, timeout: 90_000 }, async () => {
    const { page, shot, context } = await openPage(browser, 'b-login', DESKTOP);
    try {
      await page.goto('/login');
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByTestId('dashboard-empty').waitFor();
      await shot('logged-in');

      await page.getByRole('button', { name: 'Log out' }).click();
      await page.waitForURL(/\/login$/);
      assert.equal(await page.evaluate(() => window.localStorage.getItem('cloudplane.access_token')), null);
      await shot('logged-out');

      // Protected pages send you back to log in.
      await page.goto('/resources');
      await page.waitForURL(/\/login$/);

      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill('not the password');
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('alert').filter({ hasText: /./ }).first().waitFor();
      assert.match(page.url(), /\/login$/);
      await shot('bad-password');

      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Log in' }).click();
      // Back where we wanted to go.
      await page.waitForURL(/\/resources$/);
      await page.getByRole('heading', { name: 'Resources', exact: true }).waitFor();
      await shot('back-to-resources');

      // The server no longer accepts the token: any 401 ends the session.
      await page.evaluate(() => window.localStorage.setItem('cloudplane.access_token', 'expired-or-revoked'));
      await page.goto('/projects');
      await page.waitForURL(/\/login$/);
      await page.getByText('Your session expired. Please log in again.').waitFor();
      assert.equal(await page.evaluate(() => window.localStorage.getItem('cloudplane.access_token')), null);
      await shot('session-expired');
    } catch (e) {
      await shot('FAILED').catch(() => {});
      throw e;
    } finally {
      await context.close();
    }
  });
});
