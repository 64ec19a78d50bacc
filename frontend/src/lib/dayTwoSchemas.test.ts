import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { lifecyclePatch, lifecycleSchema, lifecycleValues, orderDayTwoShape, refineOrderDayTwo, toOrderDayTwo } from './dayTwoSchemas';

describe('project lifecycle settings', () => {
  it('round-trips a project', () => {
    const p = { drift_interval_minutes: 360, default_ttl_seconds: 28_800, max_ttl_seconds: 1_209_600, expiry_auto_approve: true };
    const v = lifecycleValues(p);
    expect(v).toEqual({ drift_interval_minutes: '360', default_ttl: '8h', max_ttl: '2w', expiry_auto_approve: true });
    expect(lifecycleSchema.safeParse(v).success).toBe(true);
    expect(lifecyclePatch(v)).toEqual(p);
  });
  it('empty TTLs mean none', () => {
    const v = lifecycleValues({ drift_interval_minutes: 0, default_ttl_seconds: null, max_ttl_seconds: null, expiry_auto_approve: false });
    expect(v.default_ttl).toBe('');
    expect(lifecyclePatch(v)).toMatchObject({ drift_interval_minutes: 0, default_ttl_seconds: null, max_ttl_seconds: null });
  });
  it('refuses a bad duration and a default over the maximum', () => {
    const bad = lifecycleSchema.safeParse({ drift_interval_minutes: '60', default_ttl: '8 hours', max_ttl: '', expiry_auto_approve: false });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['default_ttl']);
    const over = lifecycleSchema.safeParse({ drift_interval_minutes: '60', default_ttl: '3d', max_ttl: '1d', expiry_auto_approve: false });
    expect(over.success).toBe(false);
    expect(over.error?.issues[0]?.message).toMatch(/longer than the maximum/);
  });
});

describe('order form expiry and schedule', () => {
  const base = { ttl_choice: 'none', ttl_custom: '', schedule_on: false, schedule_stop: '0 19 * * 1-5', schedule_start: '0 8 * * 1-5', schedule_timezone: 'Europe/Berlin' };
  const check = (v: typeof base) => z.object(orderDayTwoShape).superRefine(refineOrderDayTwo).safeParse(v);

  it('sends a preset or custom ttl, or none', () => {
    expect(toOrderDayTwo({ ...base, ttl_choice: '1w' }, true)).toEqual({ ttl: '1w' });
    expect(toOrderDayTwo({ ...base, ttl_choice: 'custom', ttl_custom: '36h' }, true)).toEqual({ ttl: '36h' });
    expect(toOrderDayTwo(base, true)).toEqual({});
  });
  it('sends a schedule only when on and the kind can stop', () => {
    const on = { ...base, schedule_on: true };
    expect(toOrderDayTwo(on, true)).toEqual({ schedule: { stop: '0 19 * * 1-5', start: '0 8 * * 1-5', timezone: 'Europe/Berlin' } });
    expect(toOrderDayTwo(on, false)).toEqual({});
  });
  it('validates the custom ttl and the crons like the server', () => {
    expect(check(base).success).toBe(true);
    const ttl = check({ ...base, ttl_choice: 'custom', ttl_custom: '1.5d' });
    expect(ttl.error?.issues.map((i) => i.path)).toEqual([['ttl_custom']]);
    const cron = check({ ...base, schedule_on: true, schedule_stop: '0 25 * * *' });
    expect(cron.error?.issues.map((i) => i.path)).toEqual([['schedule_stop']]);
    expect(check({ ...base, schedule_on: false, schedule_stop: 'nonsense' }).success).toBe(true);
  });
});

describe('lifecycle patch', () => {
  it('sends only the changed settings when told', () => {
    const v = { drift_interval_minutes: '60', default_ttl: '8h', max_ttl: '', expiry_auto_approve: true };
    expect(lifecyclePatch(v, ['max_ttl', 'expiry_auto_approve'])).toEqual({ max_ttl_seconds: null, expiry_auto_approve: true });
    expect(lifecyclePatch(v, [])).toEqual({});
  });
});
