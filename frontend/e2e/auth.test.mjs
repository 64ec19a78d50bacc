// Sign-up, validation errors from the server, a reload that keeps the
// session, log out / log in, and a session revoked from elsewhere. Needs
// CLOUDPLANE_URL (the served UI and API).
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
      // Nothing is kept in storage: the access token lives in memory, the
      // refresh token in an HttpOnly cookie scripts cannot read.
      const keys = await page.evaluate(() => Object.keys(window.localStorage));
      assert.deepEqual(keys, []);
      const refresh = (await context.cookies()).find((c) => c.name === 'cp_refresh');
      assert.ok(refresh, 'no refresh cookie');
      assert.equal(refresh.httpOnly, true);
      assert.equal(refresh.sameSite, 'Strict');
      assert.equal(refresh.path, '/api/v1/auth');
      assert.equal(await page.evaluate(() => document.cookie.includes('cp_refresh')), false);
      // A reload loses the in-memory token; the cookie restores the session.
      await page.reload();
      await page.getByTestId('dashboard-empty').waitFor();
      assert.equal(new URL(page.url()).pathname, '/');
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

      // Log out ends the session on the server: the refresh cookie is gone, and a reload stays signed out.
      const loggedOut = page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/logout'));
      await page.getByRole('button', { name: 'Log out' }).click();
      assert.equal((await loggedOut).status(), 204);
      await page.waitForURL(/\/login$/);
      assert.equal((await context.cookies()).find((c) => c.name === 'cp_refresh'), undefined);
      await page.reload();
      await page.getByLabel('Email').waitFor();
      assert.match(page.url(), /\/login$/);
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

      // The access token stops working (as it does when it expires): the
      // calls that got 401 share one refresh through the cookie, then retry.
      let stale = null;
      const refreshes = [];
      page.on('response', (r) => {
        if (r.url().endsWith('/api/v1/auth/refresh')) refreshes.push(r.status());
      });
      await page.route('**/api/v1/**', (route) => {
        const auth = route.request().headers().authorization;
        stale ??= auth;
        if (auth && auth === stale) {
          return route.continue({ headers: { ...route.request().headers(), authorization: 'Bearer no-longer-valid' } });
        }
        return route.continue();
      });
      const refreshed = page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/refresh'));
      const listed = page.waitForResponse((r) => r.url().includes('/api/v1/projects') && r.status() === 200);
      await page.getByRole('link', { name: 'Projects' }).first().click();
      assert.equal((await refreshed).status(), 200);
      await listed;
      await page.getByRole('heading', { name: 'Projects', exact: true }).waitFor();
      assert.ok(refreshes.length >= 1, 'no refresh happened');
      assert.deepEqual(refreshes.filter((s) => s !== 200), [], 'a refresh failed (a refresh token sent twice?)');
      assert.match(page.url(), /\/projects$/);
      await page.unroute('**/api/v1/**');
      await shot('renewed');

      // Every session of the user is revoked from elsewhere: the next call gets
      // 401, the one refresh it tries fails too, and the UI signs out.
      const other = await context.request.post('/api/v1/auth/login', { data: { email, password: PASSWORD } });
      assert.equal(other.status(), 200);
      const { access_token: otherToken } = await other.json();
      const revoked = await context.request.post('/api/v1/auth/sessions/revoke-all', {
        headers: { Authorization: `Bearer ${otherToken}` },
      });
      assert.equal(revoked.status(), 200);
      await page.getByRole('link', { name: 'Resources' }).first().click();
      await page.waitForURL(/\/login$/);
      await page.getByText('Your session expired. Please log in again.').waitFor();
      await shot('session-expired');
    } catch (e) {
      await shot('FAILED').catch(() => {});
      throw e;
    } finally {
      await context.close();
    }
  });
});
