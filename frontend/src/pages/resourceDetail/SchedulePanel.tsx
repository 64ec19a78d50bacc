import { useState } from 'react';
import { api } from '../../api/endpoints';
import { errorMessage } from '../../api/client';
import type { Resource, Schedule } from '../../api/types';
import { SCHEDULE_PRESETS, localTimeZone, presetOf, scheduleValid } from '../../lib/cron';
import { ScheduleFields } from '../../components/ScheduleFields';
import { ErrorAlert } from '../../components/ui';
import { formatDateTime, formatUsd } from '../../lib/format';

function describe(s: Schedule): string {
  const p = SCHEDULE_PRESETS.find((x) => x.id === presetOf(s));
  if (p) return `${p.label} (${s.timezone})`;
  const parts = [s.start ? `start "${s.start}"` : '', s.stop ? `stop "${s.stop}"` : ''].filter(Boolean);
  return `${parts.join(', ')} (${s.timezone})`;
}

/** A VM's power state and its working-hours schedule (only for kinds the catalog says can stop). */
export function SchedulePanel({
  resource,
  canEdit,
  stoppedMonthly,
  onSaved,
}: {
  resource: Resource;
  canEdit: boolean;
  /** The size's monthly price if stopped all month (catalog), when known. */
  stoppedMonthly?: number;
  onSaved: (r: Resource) => void;
}) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState<Schedule>(() => resource.schedule ?? { ...SCHEDULE_PRESETS[0]!, timezone: localTimeZone() });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');

  const act = async (fn: () => Promise<Resource>) => {
    setBusy(true);
    setError('');
    try {
      onSaved(await fn());
      setEditing(false);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card" aria-labelledby="schedule-title" data-testid="schedule-panel">
      <div className="mb-2 flex flex-wrap items-center justify-between gap-2">
        <h2 id="schedule-title" className="text-base font-semibold">
          Power
        </h2>
        {resource.power_state && (
          <span
            data-testid="power-state"
            data-state={resource.power_state}
            className={`rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${
              resource.power_state === 'running' ? 'bg-green-50 text-green-800 ring-green-300' : 'bg-slate-100 text-slate-700 ring-slate-300'
            }`}
          >
            {resource.power_state === 'running' ? 'Running' : 'Stopped'}
          </span>
        )}
      </div>
      <p className="text-sm text-slate-700" data-testid="schedule-summary">
        {resource.schedule ? <>Working hours: {describe(resource.schedule)}</> : 'No working-hours schedule: the machine runs all the time.'}
      </p>
      {resource.schedule && resource.schedule_next_at && (
        <p className="mt-1 text-xs text-slate-600" data-testid="schedule-next">
          Next change {formatDateTime(resource.schedule_next_at)}
        </p>
      )}
      {editing ? (
        <form
          className="mt-3 space-y-3"
          onSubmit={(e) => {
            e.preventDefault();
            if (scheduleValid(draft)) {
              void act(() =>
                api.setSchedule(resource.id, { ...draft, stop: draft.stop?.trim() || null, start: draft.start?.trim() || null }),
              );
            }
          }}
        >
          <ScheduleFields value={draft} onChange={setDraft} />
          <ErrorAlert error={error} />
          <div className="flex flex-wrap justify-end gap-2">
            <button type="button" className="btn btn-secondary btn-sm" onClick={() => setEditing(false)}>
              Cancel
            </button>
            <button type="submit" className="btn btn-primary btn-sm" disabled={busy || !scheduleValid(draft)}>
              {busy ? 'Saving…' : 'Save schedule'}
            </button>
          </div>
        </form>
      ) : (
        <>
          <ErrorAlert error={error} />
          {canEdit && (
            <div className="mt-3 flex flex-wrap gap-2">
              <button type="button" className="btn btn-secondary btn-sm" onClick={() => setEditing(true)}>
                {resource.schedule ? 'Edit schedule' : 'Add a schedule'}
              </button>
              {resource.schedule && (
                <button type="button" className="btn btn-ghost btn-sm" disabled={busy} onClick={() => void act(() => api.clearSchedule(resource.id))}>
                  Remove schedule
                </button>
              )}
            </div>
          )}
        </>
      )}
      <p className="mt-2 text-xs text-slate-500">
        Stopped hours accrue at the stopped price (the disk only)
        {stoppedMonthly !== undefined && <>: {formatUsd(stoppedMonthly)} a month if stopped all month</>}.
      </p>
    </section>
  );
}
