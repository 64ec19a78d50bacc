// The working-hours editor shared by the resource detail and the order form:
// a preset or custom stop/start crons, and a time zone.
import { useMemo } from 'react';
import type { Schedule } from '../api/types';
import { SCHEDULE_PRESETS, cronProblem, presetOf, timeZones } from '../lib/cron';
import { Field } from './ui';

export function ScheduleFields({ value, onChange }: { value: Schedule; onChange: (s: Schedule) => void }) {
  const zones = useMemo(() => timeZones(), []);
  const preset = presetOf(value);
  const stop = value.stop ?? '';
  const start = value.start ?? '';
  const neither = !stop.trim() && !start.trim() ? 'Give a stop or a start time (or both)' : null;
  const stopProblem = stop.trim() ? cronProblem(stop) : neither;
  const startProblem = start.trim() ? cronProblem(start) : null;
  return (
    <div className="space-y-3" data-testid="schedule-fields">
      <Field label="Working hours">
        {(p) => (
          <select
            {...p}
            className="input"
            value={preset}
            onChange={(e) => {
              const chosen = SCHEDULE_PRESETS.find((x) => x.id === e.target.value);
              if (chosen) onChange({ ...value, stop: chosen.stop, start: chosen.start });
            }}
          >
            {SCHEDULE_PRESETS.map((x) => (
              <option key={x.id} value={x.id}>
                {x.label}
              </option>
            ))}
            <option value="custom">Custom (cron)</option>
          </select>
        )}
      </Field>
      <div className="grid gap-3 sm:grid-cols-2">
        <Field label="Start (cron)" error={startProblem ?? undefined} hint="minute hour day month weekday; empty: never started by the schedule">
          {(p) => (
            <input {...p} className="input font-mono" value={start} spellCheck={false} onChange={(e) => onChange({ ...value, start: e.target.value })} />
          )}
        </Field>
        <Field label="Stop (cron)" error={stopProblem ?? undefined} hint="e.g. 0 19 * * MON-FRI; empty: never stopped by the schedule">
          {(p) => (
            <input {...p} className="input font-mono" value={stop} spellCheck={false} onChange={(e) => onChange({ ...value, stop: e.target.value })} />
          )}
        </Field>
      </div>
      <Field label="Time zone">
        {(p) => (
          <select {...p} className="input" value={value.timezone} onChange={(e) => onChange({ ...value, timezone: e.target.value })}>
            {!zones.includes(value.timezone) && <option value={value.timezone}>{value.timezone}</option>}
            {zones.map((z) => (
              <option key={z} value={z}>
                {z}
              </option>
            ))}
          </select>
        )}
      </Field>
    </div>
  );
}
