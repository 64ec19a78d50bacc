// Shared set-up for the browser tests: Debian's Chromium driven by
// playwright-core, the base URL from CLOUDPLANE_URL, a screenshot per step.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const OUTPUT_DIR = path.join(here, 'output');
export const BASE_URL = (process.env.CLOUDPLANE_URL ?? '').replace(/\/+$/, '');
/** The server's CLOUDPLANE_MAIL_OUTBOX: sign-up and invitation links are read there. */
export const OUTBOX = process.env.CLOUDPLANE_E2E_OUTBOX ?? '';
export const SKIP = !BASE_URL
  ? 'CLOUDPLANE_URL is not set (point it at `cloudplane serve`)'
  : !OUTBOX
    ? 'CLOUDPLANE_E2E_OUTBOX is not set (the CLOUDPLANE_MAIL_OUTBOX dir of that server)'
    : false;

/** How long a run may take to reach a final state. */
export const RUN_TIMEOUT = Number(process.env.CLOUDPLANE_E2E_RUN_TIMEOUT_MS ?? 180_000);

export const DESKTOP = { width: 1280, height: 860 };
export const PHONE = { width: 360, height: 740 };

// A syntactically valid ed25519 public key (no private key exists for it).
export const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAMKERgfJi00O0JJUFdeZWxzeoGIj5adpKuyucDHztXc e2e@cloudplane';

export async function launch() {
  return chromium.launch({
    headless: true,
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/** A page with its own context, and a numbered screenshot helper for the scenario. */
export async function openPage(browser, scenario, viewport = DESKTOP) {
  fs.mkdirSync(OUTPUT_DIR, { recursive: true });
  const context = await browser.newContext({ viewport, baseURL: BASE_URL });
  context.setDefaultTimeout(20_000);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  let n = 0;
  const shot = async (step) => {
    n += 1;
    const file = path.join(OUTPUT_DIR, `${scenario}-${String(n).padStart(2, '0')}-${step}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  };
  return { context, page, shot, problems };
}

export function uniqueEmail(prefix) {
  return `${prefix}-${Date.now().toString(36)}-${crypto.randomBytes(3).toString('hex')}@example.com`;
}

export function uniqueName(prefix) {
  return `${prefix}-${crypto.randomBytes(3).toString('hex')}`;
}

/** The path and fragment of the link in the newest mail of `kind` to `to`, polled from the outbox. */
export async function mailedLink(to, kind, timeout = 10_000) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    const names = fs.existsSync(OUTBOX) ? fs.readdirSync(OUTBOX).filter((n) => n.endsWith('.json')).sort() : [];
    for (const name of names.reverse()) {
      const m = JSON.parse(fs.readFileSync(path.join(OUTBOX, name), 'utf8'));
      if (m.to === to.toLowerCase() && m.kind === kind && m.link) {
        const u = new URL(m.link);
        return u.pathname + u.hash;
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no ${kind} mail with a link to ${to} in ${OUTBOX}`);
}

/** Step 1 of sign-up: ask for the link; waits for the "check your email" screen. */
export async function requestSignup(page, email) {
  await page.goto('/signup');
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Email me a link' }).click();
  await page.getByTestId('signup-sent').waitFor();
}

/** The whole sign-up: ask for the link, open it from the outbox, set name and password. */
export async function signup(page, { name, email, password }) {
  await requestSignup(page, email);
  await page.goto(await mailedLink(email, 'signup'));
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
}

/** The status value of a badge (data-status), e.g. "active". */
export async function statusOf(locator) {
  return locator.getAttribute('data-status');
}

/** Polls until the resource status badge shows `status`, failing early on a failed resource. */
export async function waitForResourceStatus(page, status, timeout = RUN_TIMEOUT) {
  const badge = page.getByTestId('resource-status');
  const deadline = Date.now() + timeout;
  let last = null;
  while (Date.now() < deadline) {
    last = await badge.getAttribute('data-status').catch(() => null);
    if (last === status) return;
    if (last === 'failed' && status !== 'failed') {
      const log = await page.getByTestId('run-log').innerText().catch(() => '');
      throw new Error(`resource failed while waiting for ${status}; log tail:\n${log.split('\n').slice(-15).join('\n')}`);
    }
    await page.waitForTimeout(500);
  }
  throw new Error(`resource status is ${last}, not ${status}, after ${timeout} ms`);
}

/**
 * A new user with a first project: sign up, then from the empty dashboard
 * "Add a cloud account", which asks for a project first. Leaves the page on
 * the account form of that project; returns the project id.
 */
export async function signupWithProject(page, { name, email, password = 'correct horse battery', project }) {
  await signup(page, { name, email, password });
  await page.getByTestId('dashboard-empty').waitFor();
  await page.getByRole('link', { name: 'Add a cloud account' }).click();
  await page.getByLabel('Project name').fill(project);
  await page.getByRole('button', { name: 'Create project and continue' }).click();
  await page.getByTestId('account-form').waitFor();
  const projectId = new URL(page.url()).searchParams.get('project_id');
  if (!projectId) throw new Error(`no project_id in ${page.url()}`);
  return projectId;
}

/** On the account form: add a sandbox account (with a known `apiKey` if given). */
export async function addSandboxAccount(page, shot, { accountName, apiKey }) {
  await page.getByLabel('Cloud', { exact: true }).selectOption('sandbox');
  await page.getByLabel('Account name').fill(accountName);
  if (apiKey) await page.getByLabel(/^API key/).fill(apiKey);
  await shot('account-form');
  await page.getByRole('button', { name: 'Add account' }).click();
  await page.getByTestId('account-added').waitFor();
  await shot('account-added');
}

/**
 * The order form's first four steps for a sandbox VM on `accountName`: the
 * account, kind vm, the first region, and `size` (default the first listed).
 * Leaves the form on the size step.
 */
export async function orderVmUpToSize(page, shot, { accountName, size }) {
  await page.getByTestId('new-resource-form').waitFor();
  // Step 1: the account (preselected when the link named it).
  await page.getByRole('radio', { name: new RegExp(accountName) }).check();
  await page.getByRole('button', { name: 'Next' }).click();
  // Step 2: kind
  await page.locator('input[type=radio][value=vm]').check();
  await page.getByRole('button', { name: 'Next' }).click();
  // Step 3: region (the first is preselected)
  const region = page.getByLabel('Region');
  if (!(await region.inputValue())) await region.selectOption({ index: 1 });
  await page.getByRole('button', { name: 'Next' }).click();
  // Step 4: size
  const sizes = page.locator('input[type=radio][data-testid^="size-"]');
  await (size ? page.getByTestId(`size-${size}`) : sizes.first()).check();
  await shot('size');
}

/** The last step of a VM order: name, SSH key and CIDRs; checks the cost estimate is shown. */
export async function fillVmOptions(page, { vmName }) {
  await page.getByLabel('Name', { exact: true }).fill(vmName);
  await page.getByLabel('SSH public key').fill(SSH_KEY);
  await page.getByLabel('Allowed CIDRs').fill('203.0.113.0/24, 198.51.100.7/32');
  const estimate = await page.getByTestId('cost-estimate').innerText();
  if (!/\$\d/.test(estimate)) throw new Error(`no cost estimate shown: ${estimate}`);
}

/** Clicks "Create resource" and waits for the resource page. */
export async function submitOrder(page) {
  await page.getByRole('button', { name: 'Create resource' }).click();
  await page.waitForURL(/\/resources\/[^/]+$/);
  await page.getByTestId('resource-status').waitFor();
}

/**
 * From a project's account page: add a sandbox account, then order a small
 * sandbox VM through the stepped form. Leaves the page on the resource detail.
 * `apiKey` registers a known sandbox key (to change the cloud out of band);
 * `beforeCreate(page)` runs on the last step, before "Create resource".
 */
export async function addSandboxAccountAndCreateVm(page, shot, { accountName, vmName, apiKey, beforeCreate }) {
  await addSandboxAccount(page, shot, { accountName, apiKey });
  await page.getByTestId('account-added').getByRole('link', { name: 'Create a resource with it' }).click();
  await orderVmUpToSize(page, shot, { accountName });
  await page.getByRole('button', { name: 'Next' }).click();
  await fillVmOptions(page, { vmName });
  if (beforeCreate) await beforeCreate(page);
  await shot('name-options');
  await submitOrder(page);
}

/** A sandbox API key the test knows, so it can call the sandbox cloud as that account. */
export function sandboxKey() {
  return `sbx_${crypto.randomBytes(16).toString('hex')}`;
}

/** One JSON call with a bearer token (none when empty); the status and the parsed body. */
async function bearerCall(url, token, method, body) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

/** One call to the sandbox cloud's API (/sandbox/v1) with an account's key, as a cloud console would. */
export function sandboxCall(key, method, path, body) {
  return bearerCall(`${BASE_URL}/sandbox/v1${path}`, key, method, body);
}

/** One call to cloudplane's API (/api/v1), as a script would. */
export function apiCall(token, method, path, body) {
  return bearerCall(`${BASE_URL}/api/v1${path}`, token, method, body);
}

/** Polls until the run shown on the resource page (run-status) is `status`, failing early on another final state. */
export async function waitForRunStatus(page, status, timeout = RUN_TIMEOUT) {
  const badge = page.getByTestId('run-status');
  const deadline = Date.now() + timeout;
  let last = null;
  while (Date.now() < deadline) {
    last = await badge.getAttribute('data-status').catch(() => null);
    if (last === status) return;
    if (['succeeded', 'failed', 'canceled'].includes(last) && last !== status) {
      const log = await page.getByTestId('run-log').innerText().catch(() => '');
      throw new Error(`run ended ${last} while waiting for ${status}; log tail:\n${log.split('\n').slice(-15).join('\n')}`);
    }
    await page.waitForTimeout(500);
  }
  throw new Error(`run status is ${last}, not ${status}, after ${timeout} ms`);
}

/** Polls until a data attribute of a test id has `value`, reloading the page every `reloadEvery` ms. */
export async function waitForAttr(page, testId, attr, value, { timeout = RUN_TIMEOUT, reloadEvery = 0 } = {}) {
  const deadline = Date.now() + timeout;
  let last = null;
  let reloadAt = reloadEvery ? Date.now() + reloadEvery : Infinity;
  while (Date.now() < deadline) {
    last = await page.getByTestId(testId).getAttribute(attr).catch(() => null);
    if (last === value) return;
    if (Date.now() >= reloadAt) {
      await page.reload();
      reloadAt = Date.now() + reloadEvery;
    }
    await page.waitForTimeout(500);
  }
  throw new Error(`${testId} ${attr} is ${last}, not ${value}, after ${timeout} ms`);
}

/** Clicks `button`, which starts a run, and waits until the page shows that new run; returns its id. */
export async function clickStartingRun(page, button, timeout = 30_000) {
  const panel = page.getByTestId('run-panel');
  const before = await panel.getAttribute('data-run-id').catch(() => null);
  await button.click();
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    const id = await panel.getAttribute('data-run-id').catch(() => null);
    if (id && id !== before) return id;
    const err = await page.getByTestId('error').first().innerText().catch(() => '');
    if (err) throw new Error(`starting the run failed: ${err}`);
    await page.waitForTimeout(200);
  }
  throw new Error(`no new run shown after ${timeout} ms`);
}
