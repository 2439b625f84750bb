import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { register, signIn, type Problem } from '../api/client';
import { ProblemMessage } from '../components/ui';

/** Where to go once signed in: the deep link that sent the visitor here, if it is one of ours. */
function useNext(): string {
  const [params] = useSearchParams();
  const next = params.get('next');
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

/** Submits the form's fields with `send`; on success goes on to the page that asked for a sign-in. */
function useAuthForm(send: (form: FormData) => Promise<Problem | undefined>) {
  const navigate = useNavigate();
  const next = useNext();
  const [problem, setProblem] = useState<Problem | undefined>();
  const [busy, setBusy] = useState(false);
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setBusy(true);
    const refused = await send(new FormData(event.currentTarget));
    setBusy(false);
    if (refused) setProblem(refused);
    else navigate(next, { replace: true });
  }
  return { next, problem, busy, submit };
}

export function SignIn() {
  const { next, problem, busy, submit } = useAuthForm((form) => signIn(String(form.get('email')), String(form.get('password'))));
  return (
    <main className="auth">
      <h1>Sign in to Chronos</h1>
      <form onSubmit={(event) => void submit(event)}>
        <label>
          Email
          <input name="email" type="email" autoComplete="username" required />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        <ProblemMessage problem={problem} />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
      <p>
        No account yet? <Link to={`/register${next === '/' ? '' : `?next=${encodeURIComponent(next)}`}`}>Create an account</Link>
      </p>
    </main>
  );
}

export function Register() {
  const { problem, busy, submit } = useAuthForm((form) => register(String(form.get('email')), String(form.get('password')), String(form.get('name') ?? '')));
  const fieldError = (field: string) => problem?.errors?.find((error) => error.field === field)?.message;
  return (
    <main className="auth">
      <h1>Create a Chronos account</h1>
      <form onSubmit={(event) => void submit(event)}>
        <label>
          Name
          <input name="name" autoComplete="name" />
        </label>
        <label>
          Email
          <input name="email" type="email" autoComplete="username" required aria-describedby="email-error" />
        </label>
        {fieldError('email') && <span id="email-error" className="field-error">{fieldError('email')}</span>}
        <label>
          Password
          <input name="password" type="password" autoComplete="new-password" required minLength={8} aria-describedby="password-hint" />
        </label>
        <span id="password-hint" className={fieldError('password') ? 'field-error' : 'hint'}>
          {fieldError('password') ?? 'at least 8 characters with an upper-case letter, a lower-case letter and a digit'}
        </span>
        <ProblemMessage problem={problem} />
        <button type="submit" disabled={busy}>
          Create account
        </button>
      </form>
      <p>
        Have an account? <Link to="/sign-in">Sign in</Link>
      </p>
    </main>
  );
}
