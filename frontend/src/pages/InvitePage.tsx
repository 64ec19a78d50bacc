import { useEffect, useState } from 'react';
import { Link, useLocation, useNavigate } from 'react-router';
import { api } from '../api/endpoints';
import { ApiError, errorMessage } from '../api/client';
import { useAuth } from '../lib/authContext';
import { forgetInvite, pendingInvite, rememberInvite, tokenFromHash } from '../lib/linkToken';
import { ErrorAlert, Notice } from '../components/ui';
import { AuthShell } from './AuthShell';
import { CompleteSignupForm } from './CompleteSignupForm';

const INVALID =
  'This invitation is invalid, used, expired, or addressed to another email than the one you are signed in with.';

/** The page an invitation mail links to: accept when signed in, else sign in
 * (the token waits in this tab) or create the account the invitation is for. */
export function InvitePage() {
  const { signedIn, user } = useAuth();
  const navigate = useNavigate();
  const hashToken = tokenFromHash(useLocation().hash);
  const token = hashToken || pendingInvite();
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (hashToken && !signedIn) rememberInvite(hashToken);
  }, [hashToken, signedIn]);

  const accept = async () => {
    setError('');
    setBusy(true);
    try {
      const p = await api.acceptInvitationToken(token);
      forgetInvite();
      void navigate(`/projects/${encodeURIComponent(p.id)}`, { replace: true });
    } catch (e) {
      setError(e instanceof ApiError && e.code === 'invalid_token' ? INVALID : errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  if (!token) {
    return (
      <AuthShell title="Project invitation" footer={<Link to="/" className="link">Go to cloudplane</Link>}>
        <Notice>This page needs the link from your invitation email.</Notice>
      </AuthShell>
    );
  }

  if (signedIn) {
    return (
      <AuthShell
        title="Join the project"
        footer={
          <Link to="/invitations" className="link">
            All my invitations
          </Link>
        }
      >
        <div className="space-y-4 text-sm text-slate-700" data-testid="invite-accept">
          <p>
            You are signed in as <strong>{user?.email}</strong>. The invitation must be addressed to this email.
          </p>
          <ErrorAlert error={error} />
          <button type="button" className="btn btn-primary w-full" disabled={busy} onClick={() => void accept()}>
            {busy ? 'Joining…' : 'Accept invitation'}
          </button>
        </div>
      </AuthShell>
    );
  }

  return (
    <AuthShell
      title="Join the project"
      footer={
        <>
          Have an account with the invited email?{' '}
          <Link to="/login" state={{ from: '/invite' }} className="link">
            Log in to accept
          </Link>
        </>
      }
    >
      <p className="mb-4 text-sm text-slate-700">New to cloudplane? Create the account the invitation was sent to.</p>
      <CompleteSignupForm
        token={token}
        onDone={() => {
          forgetInvite();
          void navigate('/projects', { replace: true });
        }}
      />
    </AuthShell>
  );
}
