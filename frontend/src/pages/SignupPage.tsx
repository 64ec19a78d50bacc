import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { Link } from 'react-router';
import type { z } from 'zod';
import { api } from '../api/endpoints';
import { applyApiError } from '../lib/formErrors';
import { signupSchema } from '../lib/schemas';
import { ErrorAlert, Field } from '../components/ui';
import { AuthShell } from './AuthShell';

type Values = z.infer<typeof signupSchema>;

/** Step 1 of sign-up: the server mails a link. Its answer is the same
 * whether or not the email has an account, so this page says the same. */
export function SignupPage() {
  const [formError, setFormError] = useState('');
  const [sentTo, setSentTo] = useState<string | null>(null);
  const {
    register,
    handleSubmit,
    setError,
    formState: { errors, isSubmitting },
  } = useForm<Values>({ resolver: zodResolver(signupSchema), defaultValues: { email: '' } });

  const onSubmit = handleSubmit(async (v) => {
    setFormError('');
    try {
      await api.signup({ email: v.email.trim() });
      setSentTo(v.email.trim());
    } catch (e) {
      const { message } = applyApiError(e, setError, ['email']);
      if (message) setFormError(message);
    }
  });

  const footer = (
    <>
      Already have an account?{' '}
      <Link to="/login" className="link">
        Log in
      </Link>
    </>
  );

  if (sentTo !== null) {
    return (
      <AuthShell title="Check your email" footer={footer}>
        <div className="space-y-3 text-sm text-slate-700" data-testid="signup-sent">
          <p>
            If <strong>{sentTo}</strong> can sign up, a link to finish is on its way. Open it to choose your name and
            password.
          </p>
          <p>The link works once and expires in a day. Nothing arrived? Check the address and try again.</p>
          <button type="button" className="btn btn-secondary w-full" onClick={() => setSentTo(null)}>
            Use another email
          </button>
        </div>
      </AuthShell>
    );
  }

  return (
    <AuthShell title="Create your account" footer={footer}>
      <form onSubmit={onSubmit} noValidate className="space-y-4">
        <Field label="Email" error={errors.email?.message} hint="We mail you a link to finish signing up.">
          {(p) => <input {...p} {...register('email')} type="email" autoComplete="email" className="input" />}
        </Field>
        <ErrorAlert error={formError} />
        <button type="submit" className="btn btn-primary w-full" disabled={isSubmitting}>
          {isSubmitting ? 'Sending…' : 'Email me a link'}
        </button>
      </form>
    </AuthShell>
  );
}
