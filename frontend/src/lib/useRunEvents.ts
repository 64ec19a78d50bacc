import { useEffect, useReducer, useRef, useState } from 'react';
import { API_BASE } from '../api/client';
import { api } from '../api/endpoints';
import type { RunEvent } from '../api/types';
import { RUN_EVENT_TYPES, initialRunView, isFinalRunStatus, parseRunEvent, runEventsReducer, type RunViewState } from './runEvents';

export type Connection = 'connecting' | 'live' | 'reconnecting' | 'replay' | 'paused' | 'ended';


function eventsUrl(runId: string, ticket: string, after: number): string {
  // EventSource cannot send an Authorization header: the stream opens with a
  // short-lived ticket for this run only, never the access token.
  const from = after > 0 ? `&after=${after}` : '';
  return `${API_BASE}/runs/${encodeURIComponent(runId)}/events?ticket=${encodeURIComponent(ticket)}${from}`;
}

/** Why the server ended a stream (its last event, `end`). */
function endReason(data: string): string {
  try {
    const d = JSON.parse(data) as { reason?: unknown };
    return typeof d.reason === 'string' ? d.reason : '';
  } catch {
    return '';
  }
}

/** Reads the stored events of a run after `after`, page by page. */
async function replay(runId: string, after: number, dispatch: (e: RunEvent) => void, alive: () => boolean) {
  let cursor = after;
  for (let i = 0; i < 200 && alive(); i++) {
    const page = await api.runEventsJson(runId, cursor);
    for (const item of page.items) {
      const ev = parseRunEvent(item.type, item.data, item.seq);
      if (ev) dispatch(ev);
      cursor = Math.max(cursor, item.seq);
    }
    if (!page.next_cursor || page.items.length === 0) break;
    const n = Number(page.next_cursor);
    if (Number.isFinite(n)) cursor = n;
  }
}

/**
 * Follows one run's events. A finished run is read once from the JSON form;
 * a live one through EventSource (opened with a stream ticket), which
 * reconnects by itself with Last-Event-ID. When the browser gives up (an HTTP
 * error, e.g. the ticket expired), the run is checked and either read to its
 * end or followed again, with a fresh ticket, after a back-off; events seen
 * twice are dropped by the reducer. The server ends a stream with an `end`
 * event: a finished run stays ended, a run parked for approval is followed
 * again once it moves on, an ended session is renewed (or signs the user out)
 * before reopening, and lost access stops here.
 */
export function useRunEvents(
  runId: string,
  finishedAtStart: boolean,
  onEvent?: (e: RunEvent) => void,
): { view: RunViewState; connection: Connection; error: string } {
  const [view, dispatchRaw] = useReducer(runEventsReducer, initialRunView);
  const [connection, setConnection] = useState<Connection>(finishedAtStart ? 'replay' : 'connecting');
  const [error, setError] = useState('');
  const lastSeqRef = useRef(0);
  const onEventRef = useRef(onEvent);
  useEffect(() => {
    lastSeqRef.current = view.lastSeq;
    onEventRef.current = onEvent;
  });

  useEffect(() => {
    let alive = true;
    let es: EventSource | null = null;
    let retryTimer: number | undefined;
    let backoff = 1000;
    let errorsWithoutMessage = 0;
    const isAlive = () => alive;

    const dispatch = (ev: RunEvent) => {
      if (!alive) return;
      dispatchRaw(ev);
      if (ev.seq !== undefined) lastSeqRef.current = Math.max(lastSeqRef.current, ev.seq);
      onEventRef.current?.(ev);
    };

    const finishFromJson = async () => {
      es?.close();
      es = null;
      setConnection('replay');
      try {
        await replay(runId, lastSeqRef.current, dispatch, isAlive);
        if (alive) setConnection('ended');
      } catch (e) {
        if (alive) {
          setError(e instanceof Error ? e.message : 'Could not load the run events.');
          setConnection('ended');
        }
      }
    };

    // After the browser stopped retrying, or kept failing: is the run over?
    const check = async () => {
      try {
        const run = await api.getRun(runId);
        if (!alive) return;
        if (isFinalRunStatus(run.status)) {
          await finishFromJson();
          return;
        }
      } catch {
        // a 401 is handled globally; otherwise retry the stream below
      }
      if (!alive) return;
      setConnection('reconnecting');
      retryTimer = window.setTimeout(() => void open(), backoff);
      backoff = Math.min(backoff * 2, 15_000);
    };

    // Parked for approval: nothing streams until someone approves (or cancels).
    const waitForApproval = () => {
      setConnection('paused');
      retryTimer = window.setTimeout(async () => {
        try {
          const run = await api.getRun(runId);
          if (!alive) return;
          if (run.status === 'awaiting_approval') {
            waitForApproval();
            return;
          }
        } catch {
          // retried through open() and check() below
        }
        void open();
      }, 3000);
    };

    const onEnd = (source: EventSource, msg: MessageEvent<string>) => {
      source.close();
      if (es === source) es = null;
      if (!alive) return;
      switch (endReason(msg.data)) {
        case 'run_finished':
          setConnection('ended');
          break;
        case 'awaiting_approval':
          waitForApproval();
          break;
        case 'access_revoked':
          setError('You no longer have access to this run.');
          setConnection('ended');
          break;
        default:
          // session_ended: check() renews the token (or signs out) and reopens.
          void check();
      }
    };

    async function open() {
      if (!alive) return;
      let ticket: string;
      try {
        ticket = (await api.streamTicket(runId)).ticket;
      } catch {
        if (alive) void check();
        return;
      }
      if (!alive) return;
      es = new EventSource(eventsUrl(runId, ticket, lastSeqRef.current));
      const source = es;
      source.addEventListener('end', (msg: MessageEvent<string>) => onEnd(source, msg));
      source.onopen = () => {
        if (!alive) return;
        setConnection('live');
        setError('');
      };
      for (const type of RUN_EVENT_TYPES) {
        source.addEventListener(type, (msg: MessageEvent<string>) => {
          const ev = parseRunEvent(type, msg.data, msg.lastEventId);
          if (!ev) return;
          errorsWithoutMessage = 0;
          backoff = 1000;
          dispatch(ev);
          if (ev.type === 'status' && isFinalRunStatus(ev.data.run_status)) {
            // The server ends the stream now; do not let the browser reconnect.
            source.close();
            if (es === source) es = null;
            setConnection('ended');
          }
        });
      }
      source.onerror = () => {
        if (!alive || es !== source) return;
        errorsWithoutMessage += 1;
        if (source.readyState === EventSource.CLOSED || errorsWithoutMessage >= 3) {
          source.close();
          es = null;
          void check();
        } else {
          setConnection('reconnecting');
        }
      };
    }

    if (finishedAtStart) void finishFromJson();
    else void open();

    return () => {
      alive = false;
      es?.close();
      if (retryTimer !== undefined) window.clearTimeout(retryTimer);
    };
  }, [runId, finishedAtStart]);

  return { view, connection, error };
}
