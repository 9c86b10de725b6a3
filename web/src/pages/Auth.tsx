/** Log-in and sign-up: on success the session reloads and the guard opens the requested page. */
import { useState, type FormEvent, type ReactNode } from 'react';
import { api, errorMessage, fieldErrors } from '../api';
import { Link, useLocation } from '../router';
import { useSession } from '../session';
import { Alert, Field } from '../ui';

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
