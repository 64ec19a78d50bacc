import { useCallback, useEffect, useRef, useState } from 'react';
import { toApiError, type ApiError } from '../api/client';
import type { Page } from '../api/types';

interface ListState<T> {
  key: string;
  items: T[];
  next: string | null;
  error: ApiError | undefined;
  loadingMore: boolean;
}

interface CursorList<T> {
  items: T[];
  /** First page loading. */
  loading: boolean;
  loadingMore: boolean;
  error: ApiError | undefined;
  hasMore: boolean;
  loadMore: () => void;
  reload: () => void;
}

/** Keyset pagination: the first page on key change, then "load more" with next_cursor. */
export function useCursorList<T>(fetchPage: (cursor?: string) => Promise<Page<T>>, key: string): CursorList<T> {
  const fetchRef = useRef(fetchPage);
  useEffect(() => {
    fetchRef.current = fetchPage;
  });
  const [nonce, setNonce] = useState(0);
  const fullKey = `${key}#${nonce}`;
  const [state, setState] = useState<ListState<T>>({ key: '', items: [], next: null, error: undefined, loadingMore: false });
  const keyRef = useRef(fullKey);

  useEffect(() => {
    keyRef.current = fullKey;
    let live = true;
    fetchRef.current(undefined).then(
      (page) => {
        if (live) setState({ key: fullKey, items: page.items, next: page.next_cursor ?? null, error: undefined, loadingMore: false });
      },
      (e: unknown) => {
        if (live) setState({ key: fullKey, items: [], next: null, error: toApiError(e), loadingMore: false });
      },
    );
    return () => {
      live = false;
    };
  }, [fullKey]);

  const loadMore = useCallback(() => {
    if (!state.next || state.loadingMore || state.key !== keyRef.current) return;
    const forKey = state.key;
    const cursor = state.next;
    setState((cur) => ({ ...cur, loadingMore: true, error: undefined }));
    fetchRef.current(cursor).then(
      (page) =>
        setState((cur) =>
          cur.key !== forKey
            ? cur
            : { ...cur, items: [...cur.items, ...page.items], next: page.next_cursor ?? null, loadingMore: false, error: undefined },
        ),
      (e: unknown) => setState((cur) => (cur.key !== forKey ? cur : { ...cur, loadingMore: false, error: toApiError(e) })),
    );
  }, [state]);

  const reload = useCallback(() => setNonce((n) => n + 1), []);
  const current = state.key === fullKey;
  return {
    items: current ? state.items : [],
    loading: !current,
    loadingMore: current && state.loadingMore,
    error: current ? state.error : undefined,
    hasMore: current && state.next !== null,
    loadMore,
    reload,
  };
}
