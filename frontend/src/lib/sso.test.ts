import { describe, expect, it } from 'vitest';
import { ssoErrorMessage, ssoStartHref } from './sso';

describe('ssoStartHref', () => {
  it('asks to come back to a path of this site', () => {
    expect(ssoStartHref('/api/v1/auth/oidc/corp/start', '/projects/p1?tab=x')).toBe(
      '/api/v1/auth/oidc/corp/start?return_to=%2Fprojects%2Fp1%3Ftab%3Dx',
    );
  });
  it('never to another site, nor back to the login page', () => {
    for (const from of ['//evil.example/x', 'https://evil.example/', '/login', undefined, null]) {
      expect(ssoStartHref('/api/v1/auth/oidc/corp/start', from)).toBe('/api/v1/auth/oidc/corp/start');
    }
  });
});

describe('ssoErrorMessage', () => {
  it('explains known codes and has a fallback', () => {
    expect(ssoErrorMessage(null)).toBeNull();
    expect(ssoErrorMessage('email_taken')).toMatch(/already exists/);
    expect(ssoErrorMessage('sso_signup_disabled')).toMatch(/no account here/);
    expect(ssoErrorMessage('wrong_audience')).toMatch(/could not be verified/);
  });
});
