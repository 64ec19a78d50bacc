import { describe, expect, it } from 'vitest';
import { SCHEDULE_PRESETS, cronProblem, presetOf, scheduleValid, timeZones } from './cron';

describe('cron', () => {
  it('accepts 5 numeric fields', () => {
    for (const ok of ['0 19 * * 1-5', '*/15 8-18 * * *', '0 8 1,15 * 0', '30 7 * 1-12 7', '0 0 */2 * *']) {
      expect(cronProblem(ok), ok).toBeNull();
    }
  });
  it('explains what is wrong', () => {
    expect(cronProblem('0 19 * *')).toMatch(/5 fields/);
    expect(cronProblem('0 24 * * *')).toMatch(/hour 24/);
    expect(cronProblem('60 1 * * *')).toMatch(/minute 60/);
    expect(cronProblem('0 1 0 * *')).toMatch(/day of month 0/);
    expect(cronProblem('0 1 * * 5-1')).toMatch(/reversed/);
    expect(cronProblem('0 1 * * XYZ')).toMatch(/not a valid day of week/);
    expect(cronProblem('0 1 * * */0')).toMatch(/step/);
  });
  it('every preset is valid, and is recognised', () => {
    for (const p of SCHEDULE_PRESETS) {
      expect(cronProblem(p.stop)).toBeNull();
      expect(cronProblem(p.start)).toBeNull();
      expect(presetOf(p)).toBe(p.id);
    }
    expect(presetOf({ stop: '0  19 * * 1-5', start: '0 8 * * 1-5' })).toBe('weekdays-8-19');
    expect(presetOf({ stop: '0 20 * * *', start: '0 8 * * *' })).toBe('custom');
  });
  it('lists time zones with UTC first', () => {
    const zones = timeZones();
    expect(zones[0]).toBe('UTC');
    expect(zones.filter((z) => z === 'UTC')).toHaveLength(1);
  });
});

describe('cron names and partial schedules', () => {
  it('takes month and weekday names as the server does', () => {
    expect(cronProblem('0 19 * * MON-FRI')).toBeNull();
    expect(cronProblem('0 7 * jan-mar sun')).toBeNull();
    expect(cronProblem('0 7 * * FOO')).toMatch(/"FOO" is not a valid day of week/);
    expect(cronProblem('0 7 MON * *')).toMatch(/day of month/);
  });
  it('needs a zone and at least one of stop and start', () => {
    expect(scheduleValid({ stop: '0 19 * * 1-5', start: null, timezone: 'UTC' })).toBe(true);
    expect(scheduleValid({ stop: '', start: '0 8 * * *', timezone: 'UTC' })).toBe(true);
    expect(scheduleValid({ stop: null, start: null, timezone: 'UTC' })).toBe(false);
    expect(scheduleValid({ stop: '0 19 * * 1-5', start: '0 8 * * 1-5', timezone: '' })).toBe(false);
    expect(scheduleValid({ stop: '0 99 * * *', start: '0 8 * * 1-5', timezone: 'UTC' })).toBe(false);
  });
});
