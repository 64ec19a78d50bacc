// Zod schemas for the day-two settings: a project's drift interval and TTLs.
import { z } from 'zod';
import type { OrderDayTwoFields, ProjectDayTwoFields, ProjectDayTwoPatch } from '../api/types';
import { cronProblem } from './cron';
import { durationProblem, durationSchema, formatSeconds, parseDuration, ttlOf } from './duration';

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

/** The PATCH body for the settings; with `only`, just those fields. */
export function lifecyclePatch(v: LifecycleValues, only?: readonly (keyof LifecycleValues)[]): ProjectDayTwoPatch {
  const all: Record<keyof LifecycleValues, ProjectDayTwoPatch> = {
    drift_interval_minutes: { drift_interval_minutes: Number(v.drift_interval_minutes) },
    default_ttl: { default_ttl_seconds: parseDuration(v.default_ttl) },
    max_ttl: { max_ttl_seconds: parseDuration(v.max_ttl) },
    expiry_auto_approve: { expiry_auto_approve: v.expiry_auto_approve },
  };
  const keys = only ?? (Object.keys(all) as (keyof LifecycleValues)[]);
  return Object.assign({}, ...keys.map((k) => all[k]));
}

// ---------------------------------------------------------------------------
// The order form's expiry and working-hours fields (strings as typed).
// ---------------------------------------------------------------------------

export interface OrderDayTwoValues {
  /** A TTL preset ("8h", "1d", …), "custom" or "none". */
  ttl_choice: string;
  ttl_custom: string;
  schedule_on: boolean;
  schedule_stop: string;
  schedule_start: string;
  schedule_timezone: string;
}

export const ORDER_DAY_TWO_FIELDS = ['ttl_choice', 'ttl_custom', 'schedule_on', 'schedule_stop', 'schedule_start', 'schedule_timezone'] as const;

export const orderDayTwoShape = {
  ttl_choice: z.string(),
  ttl_custom: z.string(),
  schedule_on: z.boolean(),
  schedule_stop: z.string(),
  schedule_start: z.string(),
  schedule_timezone: z.string(),
};

/** The cross-field rules: a custom TTL must parse; an enabled schedule needs valid crons and a zone. */
export function refineOrderDayTwo(v: OrderDayTwoValues, ctx: z.RefinementCtx): void {
  const ttlProblem = v.ttl_choice === 'custom' ? durationProblem(v.ttl_custom) : null;
  if (ttlProblem) ctx.addIssue({ code: 'custom', path: ['ttl_custom'], message: ttlProblem });
  if (!v.schedule_on) return;
  for (const f of ['schedule_start', 'schedule_stop'] as const) {
    const p = v[f].trim() ? cronProblem(v[f]) : null;
    if (p) ctx.addIssue({ code: 'custom', path: [f], message: p });
  }
  if (!v.schedule_start.trim() && !v.schedule_stop.trim()) {
    ctx.addIssue({ code: 'custom', path: ['schedule_stop'], message: 'Give a stop or a start time (or both)' });
  }
  if (!v.schedule_timezone) ctx.addIssue({ code: 'custom', path: ['schedule_timezone'], message: 'Choose a time zone' });
}

/** The ttl and schedule to send with an order (schedule only for kinds that can stop). */
export function toOrderDayTwo(v: OrderDayTwoValues, stoppable: boolean): OrderDayTwoFields {
  const out: OrderDayTwoFields = {};
  const ttl = ttlOf(v.ttl_choice, v.ttl_custom);
  if (ttl) out.ttl = ttl;
  if (stoppable && v.schedule_on) {
    out.schedule = { stop: v.schedule_stop.trim() || null, start: v.schedule_start.trim() || null, timezone: v.schedule_timezone };
  }
  return out;
}
