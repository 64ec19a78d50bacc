import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { Link, useLocation } from 'react-router';
import type { z } from 'zod';
import { api } from '../api/endpoints';
import { useAuth } from '../lib/authContext';
import { applyApiError } from '../lib/formErrors';
import { loginSchema } from '../lib/schemas';
import { ErrorAlert, Field, Notice } from '../components/ui';
import { AuthShell } from './AuthShell';

type Values = z.infer<typeof loginSchema>;

export function LoginPage() {
  const { acceptSession, notice } = useAuth();
  const location = useLocation();
  const message = notice ?? (location.state as { message?: string } | null)?.message;
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
        <>
          New here?{' '}
          <Link to="/signup" className="link">
            Create an account
          </Link>
        </>
      }
    >
      {message && !formError && (
        <div className="mb-4">
          <Notice testId="login-message">{message}</Notice>
        </div>
      )}
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
    </AuthShell>
  );
}
