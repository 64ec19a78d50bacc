// Working-hours schedules: presets, a 5-field cron check like the server's,
// and the time zones the browser knows.
import type { Schedule } from '../api/types';

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
  const norm = (x: string | null | undefined) => (x ?? '').trim().split(/\s+/).join(' ');
  return SCHEDULE_PRESETS.find((p) => p.stop === norm(s.stop) && p.start === norm(s.start))?.id ?? 'custom';
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

const FIELDS = [
  { name: 'minute', min: 0, max: 59, names: [] as string[], base: 0 },
  { name: 'hour', min: 0, max: 23, names: [] as string[], base: 0 },
  { name: 'day of month', min: 1, max: 31, names: [] as string[], base: 0 },
  { name: 'month', min: 1, max: 12, names: MONTHS, base: 1 },
  { name: 'day of week', min: 0, max: 7, names: DAYS, base: 0 },
] as const;

function termProblem(raw: string, f: (typeof FIELDS)[number]): string | null {
  // Month and weekday names (JAN-DEC, SUN-SAT) as the server takes them.
  const term = raw.replace(/[A-Za-z]+/g, (w) => {
    const i = f.names.indexOf(w.toUpperCase());
    return i < 0 ? w : String(i + f.base);
  });
  const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(term);
  if (!m) return `"${raw}" is not a valid ${f.name}`;
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

/** True when a time zone is set, at least one of stop and start is, and each set one is valid. */
export function scheduleValid(s: Schedule): boolean {
  const stop = (s.stop ?? '').trim();
  const start = (s.start ?? '').trim();
  if (!s.timezone || (!stop && !start)) return false;
  return (!stop || cronProblem(stop) === null) && (!start || cronProblem(start) === null);
}
