import { Link, useLocation } from 'react-router';
import { tokenFromHash } from '../lib/linkToken';
import { Notice } from '../components/ui';
import { AuthShell } from './AuthShell';
import { CompleteSignupForm } from './CompleteSignupForm';

/** Step 2 of sign-up: the page the mailed link opens. */
export function SignupCompletePage() {
  const token = tokenFromHash(useLocation().hash);
  return (
    <AuthShell
      title="Finish signing up"
      footer={
        <>
          Already have an account?{' '}
          <Link to="/login" className="link">
            Log in
          </Link>
        </>
      }
    >
      {token ? (
        <CompleteSignupForm token={token} />
      ) : (
        <Notice>
          This page needs the link from your sign-up email.{' '}
          <Link to="/signup" className="link">
            Ask for one
          </Link>
          .
        </Notice>
      )}
    </AuthShell>
  );
}
