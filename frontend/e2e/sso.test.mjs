// Single sign-on in the browser: the login page's "Sign in with" button goes
// through the test OIDC provider (tests/oidc/idp, which auto-approves the user
// queued through its control API) and back, signed in; a refused sign-in
// lands on the login page with the reason. Needs CLOUDPLANE_URL and
// CLOUDPLANE_E2E_IDP (the provider's base URL; scripts/test-web.sh starts it
// and configures the server with it as provider "test").
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { SKIP as BASE_SKIP, launch, openPage, uniqueEmail } from './helpers.mjs';

const IDP = (process.env.CLOUDPLANE_E2E_IDP ?? '').replace(/\/+$/, '');
const SKIP = BASE_SKIP || (!IDP && 'CLOUDPLANE_E2E_IDP is not set (scripts/test-web.sh starts the test OIDC provider)');

async function queueUser(spec) {
  const r = await fetch(`${IDP}/control/user`, { method: 'POST', body: JSON.stringify(spec) });
  assert.equal(r.status, 200, await r.text());
}

describe('sso', () => {
  let browser;

  before(async () => {
    if (!SKIP) browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  test('(a) sign in with the provider lands signed in on the dashboard', { skip: SKIP, timeout: 90_000 }, async () => {
    const { page, shot, context, problems } = await openPage(browser, 'sso-a-login');
    try {
      const email = uniqueEmail('sso');
      await queueUser({ sub: `e2e-${crypto.randomBytes(6).toString('hex')}`, email, name: 'Sam Sso' });
      await page.goto('/login');
      const button = page.getByTestId('sso-test');
      await button.waitFor();
      assert.equal((await button.innerText()).trim(), 'Sign in with Test IdP');
      await shot('login-page');
      await button.click();
      await page.getByTestId('dashboard-empty').waitFor();
      assert.equal(new URL(page.url()).origin + new URL(page.url()).pathname, new URL('/', page.url()).href);
      await shot('signed-in');
      // The session is a normal one: the refresh cookie is HttpOnly, and the
      // signed-in user is the provider's.
      const refresh = (await context.cookies()).find((c) => c.name === 'cp_refresh');
      assert.ok(refresh && refresh.httpOnly, 'no HttpOnly refresh cookie');
      const me = await page.evaluate(async () => {
        const r = await fetch('/api/v1/auth/refresh', { method: 'POST' });
        return (await r.json()).user;
      });
      assert.equal(me.email, email);
      assert.equal(me.name, 'Sam Sso');
      // A reload keeps the session.
      await page.reload();
      await page.getByTestId('dashboard-empty').waitFor();
      // The login page asks for a session first (401 before signing in).
      assert.deepEqual(problems.filter((p) => !/status of 401/.test(p)), []);
    } finally {
      await context.close();
    }
  });

  test('(b) a refused sign-in shows why on the login page', { skip: SKIP, timeout: 90_000 }, async () => {
    const { page, shot, context } = await openPage(browser, 'sso-b-refused');
    try {
      await queueUser({ sub: `e2e-${crypto.randomBytes(6).toString('hex')}`, email: uniqueEmail('sso-bad'), aud: ['someone-else'] });
      await page.goto('/login');
      await page.getByTestId('sso-test').click();
      const notice = page.getByTestId('sso-error');
      await notice.waitFor();
      assert.match(await notice.innerText(), /could not be verified/);
      assert.equal(new URL(page.url()).pathname, '/login');
      assert.equal(new URL(page.url()).searchParams.get('sso_error'), 'wrong_audience');
      assert.equal((await context.cookies()).find((c) => c.name === 'cp_refresh'), undefined);
      await shot('refused');
    } finally {
      await context.close();
    }
  });
});
