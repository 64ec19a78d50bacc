import { describe, expect, it } from 'vitest';
import { lifecyclePatch, lifecycleSchema, lifecycleValues } from './dayTwoSchemas';

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
