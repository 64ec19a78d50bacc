// Working hours on the sandbox cloud: a VM ordered with a schedule, then a
// stop and a start driven by the scheduler (a cron that fires every minute is
// due at once). Needs CLOUDPLANE_URL with the issue-13 schedules API and its
// scheduler running (scripts/test-web.sh sweeps every second).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DESKTOP,
  RUN_TIMEOUT,
  SKIP,
  addSandboxAccountAndCreateVm,
  launch,
  openPage,
  signupWithProject,
  uniqueEmail,
  uniqueName,
  waitForAttr,
  waitForResourceStatus,
} from './helpers.mjs';

const SCHEDULER_WAIT = Number(process.env.CLOUDPLANE_E2E_SCHEDULER_TIMEOUT_MS ?? 120_000);

async function saveSchedule(page, { start, stop }) {
  const panel = page.getByTestId('schedule-panel');
  await panel.getByRole('button', { name: /Edit schedule|Add a schedule/ }).click();
  await panel.getByLabel('Start (cron)').fill(start);
  await panel.getByLabel('Stop (cron)').fill(stop);
  await panel.getByRole('button', { name: 'Save schedule' }).click();
  await panel.getByRole('button', { name: 'Edit schedule' }).waitFor();
}

describe('working hours', () => {
  let browser;
  before(async () => {
    if (!SKIP) browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  test('(h) a VM ordered with working hours stops and starts on its schedule', { skip: SKIP, timeout: RUN_TIMEOUT * 3 + SCHEDULER_WAIT * 2 + 120_000 }, async () => {
    const { page, shot, context } = await openPage(browser, 'h-schedule', DESKTOP);
    try {
      await signupWithProject(page, { name: 'Wes Workday', email: uniqueEmail('sched'), project: 'Office hours' });
      await addSandboxAccountAndCreateVm(page, shot, {
        accountName: 'sbx',
        vmName: uniqueName('office'),
        beforeCreate: async (p) => {
          await p.getByLabel('Stop outside working hours').check();
          await p.getByLabel('Working hours', { exact: true }).selectOption({ label: 'Weekdays 08:00–19:00' });
          await p.getByLabel('Time zone').selectOption('Europe/Berlin');
        },
      });
      await waitForResourceStatus(page, 'active');
      const summary = page.getByTestId('schedule-summary');
      await summary.getByText('Weekdays 08:00–19:00 (Europe/Berlin)').waitFor();
      assert.equal(await page.getByTestId('power-state').getAttribute('data-state'), 'running');
      await shot('ordered-with-schedule');

      // Stop every minute, never start: the scheduler stops it.
      await saveSchedule(page, { start: '', stop: '* * * * *' });
      await shot('stop-schedule');
      await waitForAttr(page, 'power-state', 'data-state', 'stopped', { timeout: SCHEDULER_WAIT + RUN_TIMEOUT, reloadEvery: 5_000 });
      await page.getByTestId('run-source').filter({ hasText: 'Schedule' }).first().waitFor();
      await shot('stopped');

      // Start every minute, never stop: it comes back.
      await saveSchedule(page, { start: '* * * * *', stop: '' });
      await waitForAttr(page, 'power-state', 'data-state', 'running', { timeout: SCHEDULER_WAIT + RUN_TIMEOUT, reloadEvery: 5_000 });
      await shot('started');

      await page.getByTestId('schedule-panel').getByRole('button', { name: 'Remove schedule' }).click();
      await summary.getByText('No working-hours schedule').waitFor();
      await shot('removed');
    } catch (e) {
      await shot('FAILED').catch(() => {});
      throw e;
    } finally {
      await context.close();
    }
  });
});
