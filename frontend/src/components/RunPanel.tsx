import { useLayoutEffect, useRef, useState, type ReactNode } from 'react';
import type { DriftEventData, Run, RunEvent, RunStatus } from '../api/types';
import type { AddressProgress, LogLine } from '../lib/runEvents';
import { useRunEvents, type Connection } from '../lib/useRunEvents';
import { formatDateTime, formatTime, operationLabel } from '../lib/format';
import { RunStatusBadge } from './StatusBadge';
import { ErrorAlert } from './ui';
import { CopyButton } from './CopyButton';
import { PlanDiff } from './PlanDiff';
import { RunChecks } from './GuardrailChecks';
import { waitingLabel } from '../lib/planView';

const STATE_LABEL: Record<AddressProgress['state'], string> = {
  pending: 'waiting',
  started: 'started',
  progress: 'in progress',
  complete: 'done',
  errored: 'failed',
};

/** One address's progress; while the run waits (waiting: what for), its state in words and no bar. */
export function ProgressRow({ p, waiting }: { p: AddressProgress; waiting: string | null }) {
  const labelId = `pl-${p.address}`;
  if (waiting && p.state !== 'complete' && p.state !== 'errored') {
    return (
      <li className="flex flex-wrap items-baseline justify-between gap-x-3 text-sm" data-testid={`progress-${p.address}`} data-state="waiting">
        <span id={labelId} className="min-w-0 break-all font-mono text-xs text-slate-800">
          {p.address}
        </span>
        <span className="whitespace-nowrap text-xs text-slate-600">
          {p.action && <span className="mr-2">{p.action}</span>}
          {waiting}
        </span>
      </li>
    );
  }
  const tone =
    p.state === 'errored' ? 'bg-red-600' : p.state === 'complete' ? 'bg-green-600' : p.state === 'pending' ? 'bg-slate-300' : 'bg-blue-600';
  return (
    <li className="space-y-1">
      <div className="flex flex-wrap items-baseline justify-between gap-x-3 text-sm">
        <span id={labelId} className="min-w-0 break-all font-mono text-xs text-slate-800">
          {p.address}
        </span>
        <span className="whitespace-nowrap text-xs text-slate-600">
          {p.action && <span className="mr-2">{p.action}</span>}
          {STATE_LABEL[p.state]}
          {p.elapsedSeconds > 0 && ` · ${Math.round(p.elapsedSeconds)}s`}
        </span>
      </div>
      <div
        role="progressbar"
        aria-labelledby={labelId}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={p.percent}
        aria-valuetext={`${p.percent}% ${STATE_LABEL[p.state]}`}
        data-testid={`progress-${p.address}`}
        data-state={p.state}
        className="h-2.5 w-full overflow-hidden rounded-full bg-slate-200"
      >
        <div className={`h-full rounded-full transition-[width] duration-500 ${tone}`} style={{ width: `${p.percent}%` }} />
      </div>
    </li>
  );
}

/** The id the server's and worker's log lines about this run carry (request_id): what to search the logs for. */
export function RequestId({ id }: { id: string }) {
  return (
    <p className="flex flex-wrap items-center gap-2 text-xs text-slate-600" data-testid="run-request-id">
      Request id <code className="break-all font-mono text-slate-800">{id}</code>
      <CopyButton value={id} label="request id" />
    </p>
  );
}

const STREAM_TONE: Record<LogLine['stream'], string> = {
  stdout: 'text-slate-100',
  stderr: 'text-red-300',
  system: 'text-sky-300',
};

function LogView({ logs, trimmed }: { logs: LogLine[]; trimmed: number }) {
  const [paused, setPaused] = useState(false);
  const [seenCount, setSeenCount] = useState(logs.length);
  const boxRef = useRef<HTMLDivElement>(null);

  useLayoutEffect(() => {
    if (paused) return;
    const el = boxRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [logs.length, paused]);

  const unseen = paused ? Math.max(0, logs.length - seenCount) : 0;

  return (
    <div>
      <div className="mb-2 flex flex-wrap items-center justify-between gap-2">
        <h3 className="text-sm font-semibold text-slate-800">Log</h3>
        <div className="flex items-center gap-2">
          {unseen > 0 && <span className="text-xs text-slate-600">{unseen} new lines</span>}
          <button
            type="button"
            className="btn btn-secondary btn-sm"
            aria-pressed={paused}
            data-testid="log-pause"
            onClick={() => {
              setSeenCount(logs.length);
              setPaused((p) => !p);
            }}
          >
            {paused ? 'Resume autoscroll' : 'Pause autoscroll'}
          </button>
        </div>
      </div>
      <div
        ref={boxRef}
        role="log"
        aria-label="Run log"
        aria-live={paused ? 'off' : 'polite'}
        tabIndex={0}
        data-testid="run-log"
        className="h-72 overflow-auto rounded-md bg-slate-900 p-3 font-mono text-xs leading-5 sm:h-96"
      >
        {trimmed > 0 && <div className="text-slate-400">… {trimmed} earlier lines not shown</div>}
        {logs.length === 0 && <div className="text-slate-400">No output yet.</div>}
        {logs.map((l) => (
          <div key={l.seq} className={`whitespace-pre-wrap break-words ${STREAM_TONE[l.stream] ?? STREAM_TONE.stdout}`}>
            {l.ts && <span className="mr-2 select-none text-slate-500">{formatTime(l.ts)}</span>}
            {l.line}
          </div>
        ))}
      </div>
    </div>
  );
}

/** A finished run whose log the server's retention removed: its empty log is not an empty run. */
export function PrunedLogNote({ at }: { at: string }) {
  return (
    <p className="rounded-md border border-slate-200 bg-slate-50 p-2 text-sm text-slate-700" data-testid="run-log-pruned">
      This run&apos;s log was removed on {formatDateTime(at)} under the server&apos;s retention policy; its outcome, plan and
      checks stay.
    </p>
  );
}

/** What a drift check found, from its "drift" event (a check plans nothing, so there is no progress to show). */
function DriftCheckResult({ status, found }: { status: RunStatus; found: DriftEventData | null }) {
  let tone = 'border-slate-200 bg-slate-50 text-slate-800';
  let text: ReactNode;
  const result = found?.drift_status ?? (status === 'failed' ? 'check_failed' : null);
  if (status === 'queued') text = 'Waiting for a worker…';
  else if (!result && status === 'canceled') text = 'The check was canceled before it finished.';
  else if (!result) text = status === 'succeeded' ? 'The check finished: the Drift panel shows what it found.' : 'Reading the resource from the cloud…';
  else if (result === 'in_sync') {
    tone = 'border-green-300 bg-green-50 text-green-900';
    text = 'In sync: the cloud matches what was ordered.';
  } else if (result === 'drifted') {
    const n = (found?.changes ?? []).reduce((k, c) => k + c.attributes.length, 0);
    tone = 'border-amber-300 bg-amber-50 text-amber-900';
    text = (
      <>
        Drifted: {n === 1 ? '1 attribute differs' : `${n} attributes differ`} in the cloud from what was ordered.{' '}
        <a href="#drift-panel" className="link">
          See the diff in the Drift panel
        </a>{' '}
        to reconcile or accept it.
      </>
    );
  } else if (result === 'missing') {
    tone = 'border-red-300 bg-red-50 text-red-900';
    text = (
      <>
        Missing: the object is gone from the cloud. See the{' '}
        <a href="#drift-panel" className="link">
          Drift panel
        </a>
        .
      </>
    );
  } else {
    tone = 'border-red-300 bg-red-50 text-red-900';
    text = 'Check failed: the cloud could not be read. The log below says why.';
  }
  return (
    <p className={`rounded-md border p-2 text-sm ${tone}`} data-testid="drift-check-result" data-drift={result ?? ''}>
      {text}
    </p>
  );
}

const CONNECTION_LABEL: Record<Connection, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Connection lost, reconnecting…',
  replay: 'Loading events…',
  paused: 'Waiting for approval',
  ended: '',
};

/** Live view of one run: progress per planned address, then the log. */
export function RunPanel({ run, finished, onEvent }: { run: Run; finished: boolean; onEvent: (e: RunEvent) => void }) {
  const { view, connection, error } = useRunEvents(run.id, finished, onEvent);
  const status = view.runStatus ?? run.status;
  const plan = view.plan ?? run.plan_summary;
  const progress = view.addresses.map((a) => view.progress[a]).filter((p): p is AddressProgress => Boolean(p));

  // Addresses from a stored plan summary, before any event arrived.
  const fallback: AddressProgress[] =
    progress.length === 0 && run.plan_summary
      ? run.plan_summary.resources.map((r) => ({
          address: r.address,
          action: r.action,
          state: status === 'succeeded' ? 'complete' : 'pending',
          elapsedSeconds: 0,
          percent: status === 'succeeded' ? 100 : 0,
        }))
      : [];
  const rows = progress.length > 0 ? progress : fallback;

  return (
    <section className="card space-y-4" aria-labelledby="run-title" data-testid="run-panel" data-run-id={run.id}>
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h2 id="run-title" className="flex flex-wrap items-center gap-2 text-base font-semibold">
          {operationLabel(run.operation)} run
          <RunStatusBadge status={status} testId="run-status" />
          {run.attempt > 1 && <span className="text-xs font-normal text-slate-600">attempt {run.attempt}</span>}
        </h2>
        {CONNECTION_LABEL[connection] && (
          <span
            className={`text-xs ${connection === 'reconnecting' ? 'text-amber-800' : 'text-slate-600'}`}
            data-testid="run-connection"
          >
            {connection === 'live' && <span aria-hidden="true" className="mr-1 inline-block h-2 w-2 rounded-full bg-green-500" />}
            {CONNECTION_LABEL[connection]}
          </span>
        )}
      </div>
      {run.request_id && <RequestId id={run.request_id} />}
      {plan && run.operation !== 'drift_check' && (
        <p className="text-sm text-slate-700" data-testid="plan-summary">
          Plan: <span className="text-green-700">+{plan.add} to add</span>, <span className="text-amber-700">~{plan.change} to change</span>,{' '}
          <span className="text-red-700">−{plan.destroy} to destroy</span>
        </p>
      )}
      {status === 'awaiting_approval' && (
        <p className="rounded-md border border-amber-300 bg-amber-50 p-2 text-sm text-amber-900" data-testid="run-waiting-approval">
          The plan is ready and waits for approval before anything is changed
          {run.override_required ? ': it breaks a soft guardrail, so approving it takes a reason.' : '.'}
        </p>
      )}
      {plan && run.operation !== 'drift_check' && <PlanDiff plan={plan} />}
      {run.operation !== 'drift_check' && <RunChecks runId={run.id} status={status} />}
      {run.error && <ErrorAlert error={run.error} title="The run failed" />}
      {run.events_pruned_at && <PrunedLogNote at={run.events_pruned_at} />}
      <ErrorAlert error={error} />
      {run.operation === 'drift_check' ? (
        <DriftCheckResult status={status} found={view.drift} />
      ) : rows.length > 0 ? (
        <ul className="space-y-3" aria-label="Progress by resource address">
          {rows.map((p) => (
            <ProgressRow key={p.address} p={p} waiting={waitingLabel(status)} />
          ))}
        </ul>
      ) : (
        <p className="text-sm text-slate-600">
          {status === 'queued' ? 'Waiting for a worker…' : status === 'planning' ? 'Planning…' : 'No planned changes yet.'}
        </p>
      )}
      <LogView logs={view.logs} trimmed={view.trimmedLogs} />
    </section>
  );
}
