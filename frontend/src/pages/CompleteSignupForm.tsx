import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import type { z } from 'zod';
import { api } from '../api/endpoints';
import { ApiError } from '../api/client';
import { useAuth } from '../lib/authContext';
import { applyApiError } from '../lib/formErrors';
import { completeSignupSchema, PASSWORD_MIN } from '../lib/schemas';
import { ErrorAlert, Field } from '../components/ui';

type Values = z.infer<typeof completeSignupSchema>;

/** Name and password for a mailed sign-up or invitation token; signs in on success. */
export function CompleteSignupForm({ token, onDone }: { token: string; onDone?: () => void }) {
  const { acceptSession } = useAuth();
  const [formError, setFormError] = useState('');
  const {
    register,
    handleSubmit,
    setError,
    formState: { errors, isSubmitting },
  } = useForm<Values>({ resolver: zodResolver(completeSignupSchema), defaultValues: { name: '', password: '' } });

  const onSubmit = handleSubmit(async (v) => {
    setFormError('');
    try {
      const r = await api.signupComplete({ token, name: v.name.trim(), password: v.password });
      onDone?.();
      acceptSession(r);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'invalid_token') {
        setFormError('This link is invalid, used or expired. Ask for a new one.');
        return;
      }
      const { message } = applyApiError(e, setError, ['name', 'password']);
      if (message) setFormError(message);
    }
  });

  return (
    <form onSubmit={onSubmit} noValidate className="space-y-4" data-testid="complete-signup-form">
      <Field label="Name" error={errors.name?.message}>
        {(p) => <input {...p} {...register('name')} autoComplete="name" className="input" />}
      </Field>
      <Field label="Password" error={errors.password?.message} hint={`At least ${PASSWORD_MIN} characters.`}>
        {(p) => <input {...p} {...register('password')} type="password" autoComplete="new-password" className="input" />}
      </Field>
      <ErrorAlert error={formError} />
      <button type="submit" className="btn btn-primary w-full" disabled={isSubmitting}>
        {isSubmitting ? 'Creating account…' : 'Create account'}
      </button>
    </form>
  );
}
