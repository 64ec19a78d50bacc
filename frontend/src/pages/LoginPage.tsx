import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { Link, useLocation, useSearchParams } from 'react-router';
import type { z } from 'zod';
import { api } from '../api/endpoints';
import { useAuth } from '../lib/authContext';
import { useAsync } from '../lib/useAsync';
import { ssoErrorMessage, ssoStartHref } from '../lib/sso';
import { applyApiError } from '../lib/formErrors';
import { loginSchema } from '../lib/schemas';
import { ErrorAlert, Field, Notice } from '../components/ui';
import { AuthShell } from './AuthShell';

type Values = z.infer<typeof loginSchema>;

export function LoginPage() {
  const { acceptSession, notice } = useAuth();
  const location = useLocation();
  const state = location.state as { message?: string; from?: string } | null;
  const message = notice ?? state?.message;
  const [params] = useSearchParams();
  const ssoError = ssoErrorMessage(params.get('sso_error'));
  // Sign-in providers; without an answer the password form stays (the server still decides).
  const sso = useAsync(() => api.ssoProviders(), 'sso-providers');
  const providers = sso.data?.providers ?? [];
  const passwords = sso.data?.local_passwords ?? true;
  const [formError, setFormError] = useState('');
  const {
    register,
    handleSubmit,
    setError,
    formState: { errors, isSubmitting },
  } = useForm<Values>({ resolver: zodResolver(loginSchema), defaultValues: { email: '', password: '' } });

  const onSubmit = handleSubmit(async (v) => {
    setFormError('');
    try {
      const r = await api.login({ email: v.email.trim(), password: v.password });
      // The login route redirects once signed in (to state.from or home).
      acceptSession(r);
    } catch (e) {
      const { message } = applyApiError(e, setError, ['email', 'password']);
      if (message) setFormError(message);
    }
  });

  return (
    <AuthShell
      title="Log in"
      footer={
        passwords ? (
          <>
            New here?{' '}
            <Link to="/signup" className="link">
              Create an account
            </Link>
          </>
        ) : (
          'Accounts come from single sign-on.'
        )
      }
    >
      {message && !formError && (
        <div className="mb-4">
          <Notice testId="login-message">{message}</Notice>
        </div>
      )}
      {ssoError && (
        <div className="mb-4">
          <Notice tone="warn" testId="sso-error">
            {ssoError}
          </Notice>
        </div>
      )}
      {providers.length > 0 && (
        <div className="mb-4 space-y-2" data-testid="sso-providers">
          {providers.map((p) => (
            <a key={p.id} href={ssoStartHref(p.start_url, state?.from)} className="btn btn-secondary w-full" data-testid={`sso-${p.id}`}>
              Sign in with {p.name}
            </a>
          ))}
          {passwords && <p className="text-center text-xs text-slate-500">or with your email and password</p>}
        </div>
      )}
      {passwords && (
      <form onSubmit={onSubmit} noValidate className="space-y-4">
        <Field label="Email" error={errors.email?.message}>
          {(p) => <input {...p} {...register('email')} type="email" autoComplete="email" className="input" />}
        </Field>
        <Field label="Password" error={errors.password?.message}>
          {(p) => <input {...p} {...register('password')} type="password" autoComplete="current-password" className="input" />}
        </Field>
        <ErrorAlert error={formError} />
        <button type="submit" className="btn btn-primary w-full" disabled={isSubmitting}>
          {isSubmitting ? 'Logging in…' : 'Log in'}
        </button>
      </form>
      )}
    </AuthShell>
  );
}
