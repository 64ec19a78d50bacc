// Single sign-on on the login page: where a provider's button goes, and what
// a refused sign-in (the server's /login?sso_error=<code>) tells the user.

/** The provider's start URL, asking to come back to `from` (a path of this site) once signed in. */
export function ssoStartHref(startUrl: string, from?: string | null): string {
  if (!from || !from.startsWith('/') || from.startsWith('//') || from === '/login') return startUrl;
  return `${startUrl}?return_to=${encodeURIComponent(from)}`;
}

const MESSAGES: Record<string, string> = {
  idp_refused: 'The identity provider did not sign you in.',
  invalid_state: 'That sign-in link was already used or has expired. Please start again.',
  state_mismatch: 'That sign-in was started in another browser or tab. Please start again.',
  email_taken: 'An account with this email already exists and cannot be linked to this sign-in. Log in with its password or ask an administrator.',
  email_not_verified: 'Your identity provider has not verified your email address.',
  sso_signup_disabled: 'You have no account here yet, and this sign-in does not create one. Ask an administrator to invite you.',
  domain_not_allowed: 'Your email domain may not sign in here.',
  no_email: 'Your identity provider did not share an email address.',
  idp_unavailable: 'The identity provider could not be reached. Please try again.',
  busy: 'The server is busy. Please try again.',
};

/** A sentence for a refused sign-in's code; null when there is none. */
export function ssoErrorMessage(code: string | null): string | null {
  if (!code) return null;
  return MESSAGES[code] ?? 'Single sign-on failed: the sign-in could not be verified. Please try again.';
}
