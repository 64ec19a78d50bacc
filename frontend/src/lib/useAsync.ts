import { useCallback, useEffect, useRef, useState } from 'react';
import { toApiError, type ApiError } from '../api/client';

export interface AsyncState<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
  setData: (updater: (prev: T | undefined) => T | undefined) => void;
}

interface Settled<T> {
  key: string;
  data: T | undefined;
  error: ApiError | undefined;
}

/**
 * Runs `fn` whenever `key` changes (or on reload) and keeps the latest
 * result. Answers for an older key are dropped. While reloading, the previous
 * data stays visible.
 */
export function useAsync<T>(fn: () => Promise<T>, key: string, enabled = true): AsyncState<T> {
  const fnRef = useRef(fn);
  useEffect(() => {
    fnRef.current = fn;
  });
  const [nonce, setNonce] = useState(0);
  const [settled, setSettled] = useState<Settled<T>>({ key: '', data: undefined, error: undefined });
  const fullKey = `${key}#${nonce}`;

  useEffect(() => {
    if (!enabled) return;
    let live = true;
    fnRef.current().then(
      (data) => {
        if (live) setSettled({ key: fullKey, data, error: undefined });
      },
      (e: unknown) => {
        if (live) setSettled((prev) => ({ key: fullKey, data: prev.data, error: toApiError(e) }));
      },
    );
    return () => {
      live = false;
    };
  }, [fullKey, enabled]);

  const reload = useCallback(() => setNonce((n) => n + 1), []);
  const setData = useCallback(
    (updater: (prev: T | undefined) => T | undefined) => setSettled((prev) => ({ ...prev, data: updater(prev.data) })),
    [],
  );

  const current = settled.key === fullKey;
  // Data of another key is shown only while the same key reloads.
  const sameBase = settled.key.split('#')[0] === key;
  return {
    data: current || sameBase ? settled.data : undefined,
    error: current ? settled.error : undefined,
    loading: enabled && !current,
    reload,
    setData,
  };
}
