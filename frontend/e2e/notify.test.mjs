// Notifications and webhooks in the browser: a run waiting for approval lands
// in the notification list and can be marked read; a webhook made in the UI
// shows its secret once, and its signed test delivery reaches a receiver this
// test runs and appears in the delivery log. The server must allow-list the
// receiver's loopback address (CLOUDPLANE_WEBHOOK_ALLOW_CIDRS, as
// scripts/test-web.sh sets it).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import {
  DESKTOP,
  RUN_TIMEOUT,
  SKIP,
  SSH_KEY,
  addSandboxAccountAndCreateVm,
  apiCall,
  launch,
  openPage,
  signupWithProject,
  uniqueEmail,
  uniqueName,
} from './helpers.mjs';

/** A webhook receiver on 127.0.0.1 that answers 204 and keeps what it got. */
function startReceiver() {
  const got = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      got.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = 204;
      res.end();
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, got, port: server.address().port }));
  });
}

describe('notifications and webhooks', () => {
  let browser;
  before(async () => {
    if (!SKIP) browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  test('(m) notification list: a run that needs approval is listed and can be marked read', { skip: SKIP, timeout: RUN_TIMEOUT + 120_000 }, async () => {
    const { page, shot, context } = await openPage(browser, 'm-notifications', DESKTOP);
    try {
      const projectId = await signupWithProject(page, { name: 'Nia Notified', email: uniqueEmail('notify'), project: 'Gated notes' });
      await page.goto(`/projects/${projectId}`);
      const settings = page.getByTestId('project-settings');
      await settings.getByLabel(/Require approval/).check();
      await settings.getByRole('button', { name: 'Save settings' }).click();
      await settings.getByText('Settings saved.').waitFor();

      await page.goto(`/accounts/new?project_id=${encodeURIComponent(projectId)}`);
      await page.getByTestId('account-form').waitFor();
      const vmName = uniqueName('noted');
      await addSandboxAccountAndCreateVm(page, shot, { accountName: 'sbx', vmName });
      const resourceUrl = new URL(page.url()).pathname;
      await page.getByRole('button', { name: 'Approve' }).waitFor({ timeout: RUN_TIMEOUT });
      await shot('awaiting-approval');

      // The full list, polled: the notification is written with the run's wait.
      await page.goto('/notifications');
      const item = page.locator('[data-testid="notification"][data-kind="run_needs_approval"]').first();
      const deadline = Date.now() + 30_000;
      for (;;) {
        await page.getByTestId('notifications-unread').waitFor(); // the list has loaded
        if ((await item.count()) > 0) break;
        if (Date.now() > deadline) throw new Error('no run_needs_approval notification listed');
        await page.waitForTimeout(1000);
        await page.reload();
      }
      assert.equal(await item.getAttribute('data-read'), 'false');
      const text = await item.innerText();
      assert.match(text, /Needs approval/);
      assert.ok(text.includes(vmName), `the message does not name the resource: ${text}`);
      assert.match(await page.getByTestId('notifications-unread').innerText(), /^\d+ unread$/);
      assert.ok(Number(await page.getByTestId('notification-unread').innerText()) >= 1, 'the bell shows no unread count');
      await shot('listed');

      await item.getByRole('button', { name: 'Mark read' }).click();
      await page.locator('[data-testid="notification"][data-kind="run_needs_approval"][data-read="true"]').first().waitFor();
      await page.reload();
      await page.getByTestId('notifications-unread').waitFor();
      const after = page.locator('[data-testid="notification"][data-kind="run_needs_approval"]').first();
      await after.waitFor();
      assert.equal(await after.getAttribute('data-read'), 'true', 'read did not stick');
      assert.equal(await after.getByRole('button', { name: 'Mark read' }).count(), 0);
      await shot('read');

      // It leads to the run, on the resource page.
      await after.getByTestId('notification-link').click();
      await page.waitForURL((u) => u.pathname === resourceUrl);
      await page.getByRole('button', { name: 'Approve' }).waitFor();
    } catch (e) {
      await shot('FAILED').catch(() => {});
      throw e;
    } finally {
      await context.close();
    }
  });

  test('(o) notification list pages: older ones come with "Show older"', { skip: SKIP, timeout: 120_000 }, async () => {
    const { page, shot, context } = await openPage(browser, 'o-notification-pages', DESKTOP);
    try {
      const email = uniqueEmail('pages');
      const password = 'correct horse battery';
      const projectId = await signupWithProject(page, { name: 'Pam Pages', email, password, project: 'Many notes' });
      const login = await apiCall('', 'POST', '/auth/login', { email, password });
      assert.equal(login.status, 200);
      const token = login.json.access_token;
      const acct = await apiCall(token, 'POST', `/projects/${projectId}/accounts`, { name: 'sbx', cloud: 'sandbox' });
      assert.equal(acct.status, 201, JSON.stringify(acct.json));
      const rules = { allowed_sizes: { level: 'hard', sizes: { sandbox: ['sandbox.small'] } } };
      assert.equal((await apiCall(token, 'PUT', `/projects/${projectId}/guardrails`, rules)).status, 200);
      // 55 orders a hard rule blocks: one guardrail_blocked notification each, more than one page (50).
      for (let i = 0; i < 55; i++) {
        const r = await apiCall(token, 'POST', '/resources', {
          project_id: projectId,
          account_id: acct.json.id,
          kind: 'vm',
          name: `big-${i}`,
          region: 'sandbox-east-1',
          size: 'sandbox.large',
          config: { ssh_public_key: SSH_KEY, allowed_cidrs: ['198.51.100.0/24'] },
        });
        assert.equal(r.status, 422, JSON.stringify(r.json));
      }

      await page.goto('/notifications');
      const items = page.locator('[data-testid="notification"][data-kind="guardrail_blocked"]');
      await page.getByTestId('notifications-older').waitFor();
      assert.equal(await items.count(), 50);
      assert.equal(await page.getByTestId('notifications-unread').innerText(), '55 unread');
      await shot('first-page');
      await page.getByTestId('notifications-older').click();
      await page.getByTestId('notifications-older').waitFor({ state: 'detached' });
      assert.equal(await items.count(), 55);
      const names = await items.allInnerTexts();
      for (let i = 0; i < 55; i++) assert.ok(names.some((t) => new RegExp(`big-${i}(?!\\d)`).test(t)), `big-${i} is not listed`);
      await shot('all');
    } catch (e) {
      await shot('FAILED').catch(() => {});
      throw e;
    } finally {
      await context.close();
    }
  });

  test('(n) webhook: the secret is shown once, the signed test delivery is logged, edit and delete', { skip: SKIP, timeout: 120_000 }, async () => {
    const { page, shot, context } = await openPage(browser, 'n-webhooks', DESKTOP);
    const receiver = await startReceiver();
    try {
      const projectId = await signupWithProject(page, { name: 'Hal Hook', email: uniqueEmail('hook'), project: 'Hooked' });
      await page.goto(`/projects/${projectId}`);
      await page.getByRole('link', { name: 'Webhooks' }).click();
      await page.getByRole('button', { name: 'Add a webhook' }).click();
      const form = page.getByTestId('webhook-create-form');
      await form.getByLabel('Payload URL').fill('not a url');
      await form.getByRole('button', { name: 'Add webhook' }).click();
      await form.getByTestId('field-error').waitFor();
      await form.getByLabel('Payload URL').fill(`http://127.0.0.1:${receiver.port}/cloudplane`);
      await shot('form');
      await form.getByRole('button', { name: 'Add webhook' }).click();

      // The generated secret, once, with a copy button and a warning.
      const box = page.getByTestId('webhook-secret');
      await box.waitFor();
      const secret = (await box.getByTestId('webhook-secret-value').innerText()).trim();
      assert.ok(secret.length >= 16, `a short secret: ${secret}`);
      await box.getByRole('button', { name: 'Copy secret' }).waitFor();
      assert.match(await box.innerText(), /not shown again/);
      await shot('secret-once');
      await box.getByRole('button', { name: 'I have copied it' }).click();
      await box.waitFor({ state: 'detached' });
      assert.ok(!(await page.content()).includes(secret), 'the secret is still on the page');
      await page.reload();
      const hook = page.getByTestId('webhook').first();
      await hook.waitFor();
      assert.ok(!(await page.content()).includes(secret), 'the secret came back after a reload');
      assert.equal((await hook.getByTestId('webhook-secret-hint').innerText()).trim(), secret.slice(-4));

      // Send test: a ping row in the log, delivered to the receiver with a valid signature.
      await hook.getByRole('button', { name: 'Send test' }).click();
      const row = hook.locator('[data-testid="delivery-row"][data-event="ping"]').first();
      await row.waitFor();
      const deadline = Date.now() + 60_000;
      let status = null;
      while (Date.now() < deadline) {
        status = await row.getByTestId('delivery-status').getAttribute('data-status');
        if (status !== 'pending') break;
        await page.waitForTimeout(1000);
        await hook.getByRole('button', { name: 'Refresh' }).click();
      }
      assert.equal(status, 'succeeded', `the test delivery is ${status}; the receiver got ${receiver.got.length} requests`);
      assert.match(await row.innerText(), /204/);
      await shot('delivered');

      const ping = receiver.got.find((r) => r.headers['x-cloudplane-event'] === 'ping');
      assert.ok(ping, 'the receiver got no ping');
      const ts = ping.headers['x-cloudplane-timestamp'];
      const want = crypto.createHmac('sha256', secret).update(`${ts}.${ping.body}`).digest('hex');
      assert.equal(ping.headers['x-cloudplane-signature'], `sha256=${want}`);
      assert.equal(JSON.parse(ping.body).version, 1);

      // The webhook's last delivery shows on the list after a reload, and Redeliver queues another.
      await page.reload();
      const listed = page.getByTestId('webhook').first();
      await listed.waitFor();
      assert.equal(await listed.getByTestId('delivery-status').first().getAttribute('data-status'), 'succeeded', 'no last delivery on the list');
      await listed.getByRole('button', { name: 'Deliveries' }).click();
      const rows = page.getByTestId('delivery-row');
      await rows.first().waitFor();
      const before = await rows.count();
      await rows.first().getByRole('button', { name: 'Redeliver' }).click();
      const until = Date.now() + 15_000;
      while ((await rows.count()) <= before && Date.now() < until) await page.waitForTimeout(300);
      assert.ok((await rows.count()) > before, 'Redeliver added no row');
      await shot('redelivered');

      // Edit: off, with a new secret (never shown back); then delete after confirming.
      const card = page.getByTestId('webhook').first();
      await card.getByRole('button', { name: 'Edit' }).click();
      const editForm = card.getByTestId('webhook-edit-form');
      await editForm.getByLabel('Enabled').uncheck();
      await editForm.getByLabel('New secret (optional)').fill('a-brand-new-secret-0123456789');
      await editForm.getByRole('button', { name: 'Save webhook' }).click();
      await card.getByText('Saved. The new secret signs deliveries from now on.').waitFor();
      assert.equal(await card.getByTestId('webhook-enabled').innerText(), 'disabled');
      assert.equal((await card.getByTestId('webhook-secret-hint').innerText()).trim(), '6789');
      assert.equal(await card.getByRole('button', { name: 'Send test' }).isDisabled(), true);
      assert.ok(!(await page.content()).includes('a-brand-new-secret-0123456789'), 'the new secret is on the page');
      await card.getByRole('button', { name: 'Delete' }).click();
      const confirm = page.getByTestId('delete-webhook-dialog');
      await confirm.getByRole('button', { name: 'Keep it' }).click();
      assert.equal(await page.getByTestId('webhook').count(), 1);
      await card.getByRole('button', { name: 'Delete' }).click();
      await confirm.getByRole('button', { name: 'Delete webhook' }).click();
      await page.getByTestId('webhooks-empty').waitFor();
      await page.reload();
      await page.getByTestId('webhooks-empty').waitFor();
      await shot('deleted');
    } catch (e) {
      await shot('FAILED').catch(() => {});
      throw e;
    } finally {
      receiver.server.close();
      await context.close();
    }
  });
});
