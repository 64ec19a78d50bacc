import { describe, expect, it } from 'vitest';
import { SCHEDULE_PRESETS, cronProblem, presetOf, timeZones } from './cron';

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
    expect(cronProblem('0 1 * * MON')).toMatch(/not a valid day of week/);
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
