import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { Link } from 'react-router';
import type { z } from 'zod';
import { api } from '../api/endpoints';
import { useAuth } from '../lib/authContext';
import { applyApiError } from '../lib/formErrors';
import { PASSWORD_MIN, signupSchema } from '../lib/schemas';
import { ErrorAlert, Field } from '../components/ui';
import { AuthShell } from './AuthShell';

type Values = z.infer<typeof signupSchema>;

export function SignupPage() {
  const { acceptSession } = useAuth();
  const [formError, setFormError] = useState('');
  const {
    register,
    handleSubmit,
    setError,
    formState: { errors, isSubmitting },
  } = useForm<Values>({ resolver: zodResolver(signupSchema), defaultValues: { name: '', email: '', password: '' } });

  const onSubmit = handleSubmit(async (v) => {
    setFormError('');
    try {
      const r = await api.signup({ name: v.name.trim(), email: v.email.trim(), password: v.password });
      acceptSession(r); // the sign-up route then redirects home
    } catch (e) {
      const { message } = applyApiError(e, setError, ['name', 'email', 'password']);
      if (message) setFormError(message);
    }
  });

  return (
    <AuthShell
      title="Create your account"
      footer={
        <>
          Already have an account?{' '}
          <Link to="/login" className="link">
            Log in
          </Link>
        </>
      }
    >
      <form onSubmit={onSubmit} noValidate className="space-y-4">
        <Field label="Name" error={errors.name?.message}>
          {(p) => <input {...p} {...register('name')} autoComplete="name" className="input" />}
        </Field>
        <Field label="Email" error={errors.email?.message}>
          {(p) => <input {...p} {...register('email')} type="email" autoComplete="email" className="input" />}
        </Field>
        <Field label="Password" error={errors.password?.message} hint={`At least ${PASSWORD_MIN} characters.`}>
          {(p) => <input {...p} {...register('password')} type="password" autoComplete="new-password" className="input" />}
        </Field>
        <ErrorAlert error={formError} />
        <button type="submit" className="btn btn-primary w-full" disabled={isSubmitting}>
          {isSubmitting ? 'Creating account…' : 'Sign up'}
        </button>
      </form>
    </AuthShell>
  );
}
