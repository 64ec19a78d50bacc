// Zod schemas for the day-two settings: a project's drift interval and TTLs.
import { z } from 'zod';
import type { ProjectDayTwoFields, ProjectDayTwoPatch } from '../api/dayTwo';
import { durationSchema, formatSeconds, parseDuration } from './duration';

export const lifecycleSchema = z
  .object({
    drift_interval_minutes: z.string().regex(/^\d+$/, { message: 'Choose an interval' }),
    default_ttl: durationSchema(true),
    max_ttl: durationSchema(true),
    expiry_auto_approve: z.boolean(),
  })
  .superRefine((v, ctx) => {
    const def = parseDuration(v.default_ttl);
    const max = parseDuration(v.max_ttl);
    if (def !== null && max !== null && def > max) {
      ctx.addIssue({ code: 'custom', path: ['default_ttl'], message: 'The default TTL cannot be longer than the maximum' });
    }
  });

export type LifecycleValues = z.infer<typeof lifecycleSchema>;

export function lifecycleValues(p: ProjectDayTwoFields): LifecycleValues {
  return {
    drift_interval_minutes: String(p.drift_interval_minutes),
    default_ttl: p.default_ttl_seconds ? formatSeconds(p.default_ttl_seconds) : '',
    max_ttl: p.max_ttl_seconds ? formatSeconds(p.max_ttl_seconds) : '',
    expiry_auto_approve: p.expiry_auto_approve,
  };
}

export function lifecyclePatch(v: LifecycleValues): ProjectDayTwoPatch {
  return {
    drift_interval_minutes: Number(v.drift_interval_minutes),
    default_ttl_seconds: parseDuration(v.default_ttl),
    max_ttl_seconds: parseDuration(v.max_ttl),
    expiry_auto_approve: v.expiry_auto_approve,
  };
}
