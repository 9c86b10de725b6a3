/**
 * Log-in and sign-up: on success the session reloads and the guard opens the requested page. The
 * invitation page (`/invite`) lets an invitee accept, sign up or log in.
 */
import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { api, ApiError, errorMessage, fieldErrors, type InvitationPreview, type Role } from '../api';
import { Link, navigate, useLocation } from '../router';
import { useSession } from '../session';
import { Alert, Field, formatDate, Spinner } from '../ui';

function AuthCard({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main className="auth-page">
      <div className="auth-card">
        <p className="brand brand-large" aria-hidden="true">
          <span className="brand-mark">U</span> Unite Hub
        </p>
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}

export function LoginPage() {
  const { refresh } = useSession();
  const { search } = useLocation();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(undefined);
    try {
      await api.auth.logIn({ email: String(form.get('email')), password: String(form.get('password')) });
      // The guard in App moves the signed-in user on to `?next=` or the contacts page.
      await refresh();
    } catch (caught) {
      setError(errorMessage(caught));
      setBusy(false);
    }
  };

  return (
    <AuthCard title="Log in">
      <form onSubmit={submit} className="stack" noValidate={false}>
        {error ? <Alert>{error}</Alert> : null}
        <Field label="Email" name="email" type="email" autoComplete="email" required autoFocus />
        <Field label="Password" name="password" type="password" autoComplete="current-password" required />
        <button type="submit" className="button primary" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
      <p className="muted">
        New to Unite Hub? <Link to={`/signup${search.get('next') ? `?next=${encodeURIComponent(search.get('next') ?? '')}` : ''}`}>Create an account</Link>
      </p>
    </AuthCard>
  );
}

export function SignUpPage() {
  const { refresh } = useSession();
  const [error, setError] = useState<string>();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const input = {
      name: String(form.get('name')).trim(),
      organizationName: String(form.get('organizationName')).trim(),
      email: String(form.get('email')).trim(),
      password: String(form.get('password')),
    };
    if (input.password.length < 10) {
      setErrors({ password: 'Use at least 10 characters' });
      return;
    }
    setBusy(true);
    setError(undefined);
    setErrors({});
    try {
      await api.auth.signUp(input);
      // The guard in App moves the signed-in user on to `?next=` or the contacts page.
      await refresh();
    } catch (caught) {
      const byField = fieldErrors(caught);
      setErrors(byField);
      setError(errorMessage(caught));
      setBusy(false);
    }
  };

  return (
    <AuthCard title="Create your account">
      <form onSubmit={submit} className="stack">
        {error ? <Alert>{error}</Alert> : null}
        <Field label="Your name" name="name" autoComplete="name" required error={errors.name} autoFocus />
        <Field label="Organization" name="organizationName" autoComplete="organization" required error={errors.organizationName} />
        <Field label="Work email" name="email" type="email" autoComplete="email" required error={errors.email} />
        <Field label="Password" name="password" type="password" autoComplete="new-password" required minLength={10} error={errors.password} hint="At least 10 characters" />
        <button type="submit" className="button primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create account'}
        </button>
      </form>
      <p className="muted">
        Already have an account? <Link to="/login">Log in</Link>
      </p>
    </AuthCard>
  );
}

const ROLE_WORDS: Record<Role, string> = { owner: 'an owner', admin: 'an admin', member: 'a member', viewer: 'a viewer' };
const LINK_PROBLEMS: Record<string, { title: string; explain: (signedIn: boolean) => string }> = {
  INVITATION_INVALID: {
    title: 'This invitation link is no longer valid',
    explain: () => 'It may have been revoked, or replaced by a newer invitation email. Ask the person who invited you to send a new one.',
  },
  INVITATION_EXPIRED: {
    title: 'This invitation has expired',
    explain: () => 'Invitations are valid for 7 days. Ask the person who invited you to send it again.',
  },
  INVITATION_ACCEPTED: {
    title: 'This invitation was already accepted',
    explain: (signedIn) => `Each invitation link works once.${signedIn ? '' : ' If you accepted it, log in to open the workspace.'}`,
  },
};

/**
 * `/invite#token=…`, the page behind an invitation email, for visitors and signed-in users alike:
 * who invited which email to what, then accept (signed in as that email), sign up, or log in.
 */
export function InvitePage() {
  const { state, refresh, logOut } = useSession();
  // The link carries the token in its fragment (`/invite#token=…`), which never reaches a server log.
  const token = new URLSearchParams(window.location.hash.slice(1)).get('token') ?? '';
  const [loaded, setLoaded] = useState<{ status: 'loading' } | { status: 'error'; code: string; message: string } | { status: 'ready'; data: InvitationPreview }>({ status: 'loading' });
  useEffect(() => {
    if (!token) return;
    let current = true;
    api.invitations.preview(token).then(
      (data) => current && setLoaded({ status: 'ready', data }),
      (caught: unknown) => current && setLoaded({ status: 'error', code: caught instanceof ApiError ? caught.code : 'UNKNOWN', message: errorMessage(caught) }),
    );
    return () => {
      current = false;
    };
  }, [token]);
  const [error, setError] = useState<string>();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [joined, setJoined] = useState<string>();
  const [mode, setMode] = useState<'sign-up' | 'log-in'>('sign-up');

  // Into the workspace: the session already points at it.
  const enter = async (workspaceName: string) => {
    setJoined(workspaceName);
    await refresh();
    navigate('/contacts', { replace: true });
  };

  const fail = (caught: unknown) => {
    setErrors(fieldErrors(caught));
    setError(errorMessage(caught));
    setBusy(false);
  };

  const accept = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const result = await api.invitations.accept(token);
      await enter(result.workspace.name);
    } catch (caught) {
      fail(caught);
    }
  };

  const signUp = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const name = String(form.get('name')).trim();
    const password = String(form.get('password'));
    if (password.length < 10) {
      setErrors({ password: 'Use at least 10 characters' });
      return;
    }
    setBusy(true);
    setError(undefined);
    setErrors({});
    try {
      const result = await api.invitations.signUp({ token, name, password });
      await enter(result.workspace.name);
    } catch (caught) {
      // The address already has an account: the way in is to log in.
      if (caught instanceof ApiError && caught.code === 'EMAIL_TAKEN') setMode('log-in');
      fail(caught);
    }
  };

  // Logging in with the token accepts the invitation, even for an account that belongs to no workspace.
  const logIn = async (event: FormEvent<HTMLFormElement>, invitedEmail: string, workspaceName: string) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(undefined);
    setErrors({});
    try {
      await api.auth.logIn({ email: invitedEmail, password: String(form.get('password')), invitationToken: token });
      await enter(workspaceName);
    } catch (caught) {
      fail(caught);
    }
  };

  const switchTo = (next: 'sign-up' | 'log-in') => {
    setMode(next);
    setError(undefined);
    setErrors({});
  };

  if (joined) {
    return (
      <AuthCard title={`Welcome to ${joined}`}>
        <Spinner label="Opening the workspace…" />
      </AuthCard>
    );
  }
  if (!token || loaded.status === 'error') {
    const problem = loaded.status === 'error' ? LINK_PROBLEMS[loaded.code] : LINK_PROBLEMS.INVITATION_INVALID;
    return (
      <AuthCard title={problem?.title ?? 'This invitation cannot be opened'}>
        <p>{problem ? problem.explain(state.status === 'signed-in') : loaded.status === 'error' ? loaded.message : ''}</p>
        <p className="muted">{state.status === 'signed-in' ? <Link to="/contacts">Go to your workspace</Link> : <Link to="/login">Log in</Link>}</p>
      </AuthCard>
    );
  }
  if (loaded.status === 'loading' || state.status === 'loading') return <Spinner label="Opening the invitation…" />;

  const invitation = loaded.data;
  const intro = (
    <p data-testid="invitation-summary">
      <strong>{invitation.invitedBy?.name ?? 'An owner'}</strong> invited <strong className="break">{invitation.email}</strong> to join <strong>{invitation.workspace.name}</strong> as {ROLE_WORDS[invitation.role]}.
    </p>
  );
  const expires = <p className="muted small">The invitation expires {formatDate(invitation.expiresAt)}.</p>;

  if (state.status === 'signed-in') {
    const email = state.me.user?.email;
    return (
      <AuthCard title={`Join ${invitation.workspace.name}`}>
        {intro}
        {error ? <Alert>{error}</Alert> : null}
        {email === invitation.email ? (
          <button type="button" className="button primary" disabled={busy} onClick={() => void accept()}>
            {busy ? 'Joining…' : `Accept and join ${invitation.workspace.name}`}
          </button>
        ) : (
          <>
            <Alert kind="info">
              You are logged in as {email ?? 'an API key'}. This invitation is for {invitation.email}: log out, then log in or sign up with that email.
            </Alert>
            <button type="button" className="button" onClick={() => void logOut()}>
              Log out and continue
            </button>
          </>
        )}
        {expires}
      </AuthCard>
    );
  }

  if (mode === 'log-in') {
    return (
      <AuthCard title={`Join ${invitation.workspace.name}`}>
        {intro}
        <form onSubmit={(event) => void logIn(event, invitation.email, invitation.workspace.name)} className="stack" aria-label="Log in to accept">
          {error ? <Alert>{error}</Alert> : null}
          <Field label="Email" name="email" type="email" value={invitation.email} readOnly autoComplete="username" />
          <Field label="Password" name="password" type="password" autoComplete="current-password" required autoFocus />
          <button type="submit" className="button primary" disabled={busy}>
            {busy ? 'Joining…' : 'Log in and join'}
          </button>
        </form>
        <p className="muted">
          New to Unite Hub?{' '}
          <button type="button" className="link-button" onClick={() => switchTo('sign-up')}>
            Create your account
          </button>
        </p>
        {expires}
      </AuthCard>
    );
  }

  return (
    <AuthCard title={`Join ${invitation.workspace.name}`}>
      {intro}
      <form onSubmit={signUp} className="stack" aria-label="Create your account">
        {error ? <Alert>{error}</Alert> : null}
        <Field label="Email" name="email" type="email" value={invitation.email} readOnly autoComplete="username" hint="The invitation is for this address" />
        <Field label="Your name" name="name" autoComplete="name" required error={errors.name} autoFocus />
        <Field label="Password" name="password" type="password" autoComplete="new-password" required minLength={10} error={errors.password} hint="At least 10 characters" />
        <button type="submit" className="button primary" disabled={busy}>
          {busy ? 'Joining…' : 'Create account and join'}
        </button>
      </form>
      <p className="muted">
        Already have an account with {invitation.email}?{' '}
        <button type="button" className="link-button" onClick={() => switchTo('log-in')}>
          Log in to accept
        </button>
      </p>
      {expires}
    </AuthCard>
  );
}
