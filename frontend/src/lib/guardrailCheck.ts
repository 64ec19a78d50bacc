// The order form's live guardrail check: each change of the order is sent to
// POST /guardrails/check after a pause in typing; a newer change cancels the
// request in flight, and an answer to an older order is never shown.
import { useEffect, useMemo, useState } from 'react';
import { api } from '../api/endpoints';
import { toApiError, type ApiError } from '../api/client';
import type { GuardrailCheckRequest, GuardrailCheckResult } from '../api/types';

export const CHECK_DEBOUNCE_MS = 300;

export interface LiveCheckState {
  /** idle: nothing to check yet; checking: a request is due or in flight (result is the previous one). */
  status: 'idle' | 'checking' | 'done' | 'error';
  result?: GuardrailCheckResult;
  error?: ApiError;
}

type Send = (body: GuardrailCheckRequest, signal: AbortSignal) => Promise<GuardrailCheckResult>;

export interface LiveCheck {
  /** The order as it stands now; null when it is not complete enough to check. */
  update: (body: GuardrailCheckRequest | null) => void;
  dispose: () => void;
}

/** The debounce and cancel logic, free of React so it can be tested with fake timers. */
export function createLiveCheck(send: Send, onState: (s: LiveCheckState) => void, delayMs = CHECK_DEBOUNCE_MS): LiveCheck {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inflight: AbortController | undefined;
  let lastKey: string | undefined;
  let seq = 0;
  let last: LiveCheckState = { status: 'idle' };
  const emit = (s: LiveCheckState) => {
    last = s;
    onState(s);
  };
  const stop = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    inflight?.abort();
    inflight = undefined;
  };
  return {
    update(body) {
      const key = body === null ? 'null' : JSON.stringify(body);
      if (key === lastKey) return;
      lastKey = key;
      stop();
      seq += 1; // whatever is in flight is stale from now on
      if (body === null) {
        emit({ status: 'idle' });
        return;
      }
      emit({ status: 'checking', result: last.result });
      const mine = seq;
      timer = setTimeout(() => {
        timer = undefined;
        const ctl = new AbortController();
        inflight = ctl;
        send(body, ctl.signal).then(
          (result) => {
            if (mine !== seq) return;
            inflight = undefined;
            emit({ status: 'done', result });
          },
          (e: unknown) => {
            if (mine !== seq) return;
            inflight = undefined;
            const err = toApiError(e);
            if (err.code === 'canceled') return;
            emit({ status: 'error', error: err, result: undefined });
          },
        );
      }, delayMs);
    },
    dispose() {
      stop();
      seq += 1;
      lastKey = undefined; // a remount (React's strict mode) checks again
    },
  };
}

/** The live check of `body` (null: nothing to check), through the API. */
export function useGuardrailCheck(body: GuardrailCheckRequest | null): LiveCheckState {
  const [state, setState] = useState<LiveCheckState>({ status: 'idle' });
  const checker = useMemo(() => createLiveCheck((b, signal) => api.checkGuardrails(b, signal), setState), []);
  useEffect(() => () => checker.dispose(), [checker]);
  const key = body === null ? 'null' : JSON.stringify(body);
  useEffect(() => {
    checker.update(key === 'null' ? null : (JSON.parse(key) as GuardrailCheckRequest));
  }, [checker, key]);
  return state;
}
