import type {
  DriftEventData,
  LogEventData,
  Outputs,
  PlanSummary,
  ProgressEventData,
  ResourceStatus,
  RunEvent,
  RunStatus,
  StatusEventData,
} from '../api/types';

// Turns the events of one run (SSE or the JSON replay) into what the live run
// view shows: one progress entry per planned resource address, and the log.

type AddressState = 'pending' | 'started' | 'progress' | 'complete' | 'errored';

export interface AddressProgress {
  address: string;
  action: string;
  state: AddressState;
  elapsedSeconds: number;
  /** 0–100, for the progress bar. */
  percent: number;
}

export interface LogLine {
  seq: number;
  ts: string;
  stream: LogEventData['stream'];
  line: string;
}

export interface RunViewState {
  /** Highest event sequence number applied; older or repeated events are ignored. */
  lastSeq: number;
  plan: PlanSummary | null;
  /** Addresses in the order they were planned or first seen. */
  addresses: string[];
  progress: Record<string, AddressProgress>;
  logs: LogLine[];
  /** Log lines dropped from the front of `logs` to keep memory bounded. */
  trimmedLogs: number;
  /** Events the server dropped at its per-run cap. */
  truncated: number;
  runStatus: RunStatus | null;
  resourceStatus: ResourceStatus | null;
  outputs: Outputs | null;
  /** What a drift check found (its "drift" event); null before that or for other runs. */
  drift: DriftEventData | null;
}

export const MAX_LOG_LINES = 5000;

export const initialRunView: RunViewState = {
  lastSeq: 0,
  plan: null,
  addresses: [],
  progress: {},
  logs: [],
  trimmedLogs: 0,
  truncated: 0,
  runStatus: null,
  resourceStatus: null,
  outputs: null,
  drift: null,
};

/** Actions that change nothing, so no progress event will ever come for them. */
const NOOP_ACTIONS = new Set(['no-op', 'noop', 'read']);

/**
 * Progress bar position while a resource is being worked on. The engine does
 * not say how far along it is, only for how long, so the bar approaches 90 %
 * and jumps to 100 % on completion.
 */
export function percentFor(state: AddressState, elapsedSeconds: number): number {
  switch (state) {
    case 'pending':
      return 0;
    case 'complete':
    case 'errored':
      return 100;
    case 'started':
    case 'progress': {
      const t = Math.max(0, elapsedSeconds);
      return Math.round(5 + 85 * (1 - Math.exp(-t / 30)));
    }
  }
}

function upsert(
  s: RunViewState,
  address: string,
  patch: (prev: AddressProgress | undefined) => AddressProgress,
): Pick<RunViewState, 'addresses' | 'progress'> {
  const prev = s.progress[address];
  const next = patch(prev);
  return {
    addresses: prev ? s.addresses : [...s.addresses, address],
    progress: { ...s.progress, [address]: next },
  };
}

function applyPlan(s: RunViewState, plan: PlanSummary): RunViewState {
  let out: RunViewState = { ...s, plan };
  for (const r of plan.resources ?? []) {
    const noop = NOOP_ACTIONS.has(r.action);
    out = {
      ...out,
      ...upsert(out, r.address, (prev) =>
        prev
          ? { ...prev, action: r.action }
          : {
              address: r.address,
              action: r.action,
              state: noop ? 'complete' : 'pending',
              elapsedSeconds: 0,
              percent: noop ? 100 : 0,
            },
      ),
    };
  }
  return out;
}

function applyProgress(s: RunViewState, p: ProgressEventData): RunViewState {
  if (!p.address) return s;
  const state: AddressState =
    p.state === 'started' || p.state === 'progress' || p.state === 'complete' || p.state === 'errored'
      ? p.state
      : 'progress';
  const elapsed = Number.isFinite(p.elapsed_seconds) ? p.elapsed_seconds : 0;
  return {
    ...s,
    ...upsert(s, p.address, (prev) => {
      // A late "progress" never moves a finished address back.
      if (prev && (prev.state === 'complete' || prev.state === 'errored') && (state === 'started' || state === 'progress')) {
        return prev;
      }
      const percent = Math.max(prev && state !== 'errored' ? prev.percent : 0, percentFor(state, elapsed));
      return {
        address: p.address,
        action: p.action || prev?.action || '',
        state,
        elapsedSeconds: elapsed,
        percent,
      };
    }),
  };
}

function applyStatus(s: RunViewState, st: StatusEventData): RunViewState {
  let progress = s.progress;
  if (st.run_status === 'succeeded') {
    progress = {};
    for (const [k, v] of Object.entries(s.progress)) {
      progress[k] = v.state === 'errored' ? v : { ...v, state: 'complete', percent: 100 };
    }
  }
  return { ...s, progress, runStatus: st.run_status, resourceStatus: st.resource_status };
}

function appendLogs(s: RunViewState, lines: LogLine[]): RunViewState {
  const logs = [...s.logs, ...lines];
  if (logs.length <= MAX_LOG_LINES) return { ...s, logs };
  const drop = logs.length - MAX_LOG_LINES;
  return { ...s, logs: logs.slice(drop), trimmedLogs: s.trimmedLogs + drop };
}

type RunViewAction = RunEvent | { type: 'reset' };

export function runEventsReducer(state: RunViewState, action: RunViewAction): RunViewState {
  if (action.type === 'reset') return initialRunView;

  const seq = action.seq ?? (action.type === 'log' ? action.data.seq : undefined);
  if (seq !== undefined && Number.isFinite(seq)) {
    if (seq <= state.lastSeq) return state; // replayed after a reconnect
  }
  const s: RunViewState = seq !== undefined && Number.isFinite(seq) ? { ...state, lastSeq: seq } : state;

  switch (action.type) {
    case 'log': {
      const d = action.data;
      return appendLogs(s, [{ seq: d.seq ?? seq ?? 0, ts: d.ts ?? '', stream: d.stream ?? 'stdout', line: d.line ?? '' }]);
    }
    case 'plan':
      return applyPlan(s, action.data);
    case 'progress':
      return applyProgress(s, action.data);
    case 'status':
      return applyStatus(s, action.data);
    case 'outputs':
      return { ...s, outputs: action.data };
    case 'drift':
      return { ...s, drift: action.data };
    case 'truncated': {
      const dropped = Number(action.data?.dropped) || 0;
      const withCount = { ...s, truncated: s.truncated + dropped };
      return appendLogs(withCount, [
        {
          seq: seq ?? 0,
          ts: '',
          stream: 'system',
          line: `… ${dropped} event${dropped === 1 ? '' : 's'} not kept (per-run event limit reached)`,
        },
      ]);
    }
    default:
      return s;
  }
}

/** The run event types the view understands (SSE event names, JSON replay types). */
export const RUN_EVENT_TYPES = ['log', 'plan', 'progress', 'status', 'outputs', 'truncated', 'drift'] as const;
const EVENT_TYPES = new Set<string>(RUN_EVENT_TYPES);

/**
 * Builds a typed event from an SSE message (event name, data text, last event
 * id) or a JSON replay item. Returns null for unknown types or bad JSON.
 */
export function parseRunEvent(type: string, data: unknown, id?: string | number | null): RunEvent | null {
  if (!EVENT_TYPES.has(type)) return null;
  let parsed: unknown = data;
  if (typeof data === 'string') {
    try {
      parsed = JSON.parse(data);
    } catch {
      return null;
    }
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const n = id === undefined || id === null || id === '' ? undefined : Number(id);
  const seq = n !== undefined && Number.isFinite(n) ? n : undefined;
  return { type, seq, data: parsed } as RunEvent;
}

/** True when a run will not change any more. */
export function isFinalRunStatus(s: RunStatus | null | undefined): boolean {
  return s === 'succeeded' || s === 'failed' || s === 'canceled';
}
