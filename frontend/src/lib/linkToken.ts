// Tokens from mailed links (/signup/complete#token=…, /invite#token=…). They
// ride in the URL fragment, which the browser never sends to the server. The
// invitation token is kept for the tab while its user signs in first.

const PENDING_INVITE = 'cloudplane.pendingInvite';

/** The token in a location hash like "#token=…", or ''. */
export function tokenFromHash(hash: string): string {
  const m = /^#?(?:.*&)?token=([A-Za-z0-9_-]+)/.exec(hash);
  return m?.[1] ?? '';
}

export function rememberInvite(token: string) {
  try {
    sessionStorage.setItem(PENDING_INVITE, token);
  } catch {
    // storage may be off; the link still works when opened again
  }
}

export function pendingInvite(): string {
  try {
    return sessionStorage.getItem(PENDING_INVITE) ?? '';
  } catch {
    return '';
  }
}

export function forgetInvite() {
  try {
    sessionStorage.removeItem(PENDING_INVITE);
  } catch {
    // nothing to forget
  }
}
