// Working-hours schedules: presets, a 5-field cron check like the server's,
// and the time zones the browser knows.
import type { Schedule } from '../api/dayTwo';

export interface SchedulePreset {
  id: string;
  label: string;
  stop: string;
  start: string;
}

export const SCHEDULE_PRESETS: readonly SchedulePreset[] = [
  { id: 'weekdays-8-19', label: 'Weekdays 08:00–19:00', start: '0 8 * * 1-5', stop: '0 19 * * 1-5' },
  { id: 'weekdays-9-18', label: 'Weekdays 09:00–18:00', start: '0 9 * * 1-5', stop: '0 18 * * 1-5' },
  { id: 'daily-7-22', label: 'Every day 07:00–22:00', start: '0 7 * * *', stop: '0 22 * * *' },
];

/** The preset a schedule matches, or "custom". */
export function presetOf(s: Pick<Schedule, 'stop' | 'start'>): string {
  const norm = (x: string) => x.trim().split(/\s+/).join(' ');
  return SCHEDULE_PRESETS.find((p) => p.stop === norm(s.stop) && p.start === norm(s.start))?.id ?? 'custom';
}

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day of week', min: 0, max: 7 },
] as const;

function termProblem(term: string, f: (typeof FIELDS)[number]): string | null {
  const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(term);
  if (!m) return `"${term}" is not a valid ${f.name}`;
  const [, , lo, hi, step] = m;
  for (const n of [lo, hi]) {
    if (n !== undefined && (Number(n) < f.min || Number(n) > f.max)) return `${f.name} ${n} is outside ${f.min}–${f.max}`;
  }
  if (lo !== undefined && hi !== undefined && Number(lo) > Number(hi)) return `${f.name} range ${lo}-${hi} is reversed`;
  if (step !== undefined && Number(step) < 1) return `${f.name} step must be at least 1`;
  return null;
}

/** Why a cron string is not 5 valid numeric fields, or null. */
export function cronProblem(text: string): string | null {
  const parts = text.trim().split(/\s+/).filter(Boolean);
  if (parts.length !== 5) return 'A cron schedule has 5 fields: minute hour day-of-month month day-of-week';
  for (let i = 0; i < 5; i++) {
    for (const term of parts[i]!.split(',')) {
      const p = termProblem(term, FIELDS[i]!);
      if (p) return p;
    }
  }
  return null;
}

/** The browser's IANA time zones (UTC first), or just UTC where it cannot list them. */
export function timeZones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
  const list = intl.supportedValuesOf ? intl.supportedValuesOf('timeZone') : [];
  return ['UTC', ...list.filter((z) => z !== 'UTC')];
}

export function localTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/** True when both crons are valid and a time zone is set. */
export function scheduleValid(s: Schedule): boolean {
  return Boolean(s.timezone) && cronProblem(s.stop) === null && cronProblem(s.start) === null;
}
