// Durations as the server reads them ("30m", "8h", "3d", "2w"), expiry
// countdowns, and the TTL choices of the order form and project settings.
import { z } from 'zod';

const UNIT_SECONDS = { m: 60, h: 3600, d: 86_400, w: 604_800 } as const;
type Unit = keyof typeof UNIT_SECONDS;

const DURATION_RE = /^([1-9][0-9]{0,5})([mhdw])$/;

export const DURATION_HINT = 'A whole number and a unit: m (minutes), h (hours), d (days) or w (weeks), e.g. 30m, 8h, 3d, 2w.';

/** The longest lifetime the server takes (a year, 366 days). */
export const MAX_DURATION_SECONDS = 31_622_400;

/** Seconds in a duration like "8h", or null when it is not one. */
export function parseDuration(text: string): number | null {
  const m = DURATION_RE.exec(text.trim());
  if (!m) return null;
  return Number(m[1]) * UNIT_SECONDS[m[2] as Unit];
}

/** The shortest exact duration string for whole minutes ("1d", "90m"); rounds up to a minute. */
export function formatSeconds(seconds: number): string {
  const s = Math.max(60, Math.ceil(seconds / 60) * 60);
  for (const u of ['w', 'd', 'h'] as const) {
    if (s % UNIT_SECONDS[u] === 0) return `${s / UNIT_SECONDS[u]}${u}`;
  }
  return `${s / 60}m`;
}

/** Why a duration is not one the server takes, or null. */
export function durationProblem(text: string): string | null {
  const s = parseDuration(text);
  if (s === null) return `Enter a duration like 8h or 3d. ${DURATION_HINT}`;
  if (s > MAX_DURATION_SECONDS) return 'At most a year (366d).';
  return null;
}

/** A duration field: empty is allowed only when `optional`. */
export function durationSchema(optional: boolean) {
  return z.string().superRefine((v, ctx) => {
    if (optional && v.trim() === '') return;
    const p = durationProblem(v);
    if (p) ctx.addIssue({ code: 'custom', message: p });
  });
}

/** "3 h 12 min", "2 d 5 h", "12 min", "less than a minute". */
export function formatSpan(ms: number): string {
  const totalMin = Math.floor(ms / 60_000);
  if (totalMin < 1) return 'less than a minute';
  const d = Math.floor(totalMin / 1440);
  const h = Math.floor((totalMin % 1440) / 60);
  const m = totalMin % 60;
  if (d > 0) return h > 0 ? `${d} d ${h} h` : `${d} d`;
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  return `${m} min`;
}

interface RunLike {
  operation: string;
  status: string;
}

/**
 * The expiry line of a resource: "expires in 3 h 12 min", or once the time
 * has passed, what became of the expiry destroy.
 */
export function countdownText(expiresAt: string | null, now: number, currentRun?: RunLike | null): string {
  if (!expiresAt) return '';
  const t = new Date(expiresAt).getTime();
  if (Number.isNaN(t)) return '';
  if (t > now) return `expires in ${formatSpan(t - now)}`;
  if (currentRun?.operation === 'destroy') {
    if (currentRun.status === 'awaiting_approval') return 'expired, awaiting destroy';
    if (!['succeeded', 'failed', 'canceled'].includes(currentRun.status)) return 'expired, being destroyed';
  }
  return 'expired';
}

/** True when the expiry is in the future but within `withinMs` (default 24 h). */
export function expiresSoon(expiresAt: string | null, now: number, withinMs = 86_400_000): boolean {
  if (!expiresAt) return false;
  const t = new Date(expiresAt).getTime();
  return Number.isFinite(t) && t > now && t - now <= withinMs;
}

// The order form's TTL choices: a preset, a custom duration, or none.
export const TTL_PRESETS = [
  { value: '8h', label: '8 hours' },
  { value: '1d', label: '1 day' },
  { value: '3d', label: '3 days' },
  { value: '1w', label: '1 week' },
] as const;

export type TtlChoice = (typeof TTL_PRESETS)[number]['value'] | 'custom' | 'none';

/** The choice and custom text that a project's default TTL preselects. */
export function ttlDefault(defaultSeconds: number | null): { choice: TtlChoice; custom: string } {
  if (!defaultSeconds || defaultSeconds <= 0) return { choice: 'none', custom: '' };
  const text = formatSeconds(defaultSeconds);
  const preset = TTL_PRESETS.find((p) => parseDuration(p.value) === defaultSeconds);
  return preset ? { choice: preset.value, custom: '' } : { choice: 'custom', custom: text };
}

/** The ttl to send for a choice, or undefined for none (or an invalid custom text). */
export function ttlOf(choice: string, custom: string): string | undefined {
  if (choice === 'none' || choice === '') return undefined;
  const text = choice === 'custom' ? custom.trim() : choice;
  return durationProblem(text) === null ? text : undefined;
}

/** When a TTL chosen now ends, or null. */
export function expiryFrom(ttl: string | undefined, now: number): Date | null {
  const s = ttl ? parseDuration(ttl) : null;
  return s === null ? null : new Date(now + s * 1000);
}
