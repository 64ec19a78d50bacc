// The access token lives in memory only, never in storage a script could read
// later. A reload restores the session through the HttpOnly refresh cookie.
let current: string | null = null;
const listeners = new Set<(token: string | null) => void>();

export function getToken(): string | null {
  return current;
}

function publish(): void {
  for (const fn of listeners) fn(current);
}

export function setToken(token: string): void {
  current = token;
  publish();
}

export function clearToken(): void {
  current = null;
  publish();
}

/** Calls fn whenever the token changes (a refresh, a sign-out); returns the unsubscribe. */
export function onTokenChange(fn: (token: string | null) => void): () => void {
  listeners.add(fn);
  return () => {
    listeners.delete(fn);
  };
}

// Earlier versions kept the token in localStorage: drop it.
try {
  window.localStorage.removeItem('cloudplane.access_token');
} catch {
  // storage unavailable: nothing to drop
}
