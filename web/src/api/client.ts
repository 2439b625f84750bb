import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';

/** The API's own types, as generated from its OpenAPI document (npm run web:client): never copied by hand. */
export type Schemas = components['schemas'];
export type Job = Schemas['Job'];
export type JobBody = Schemas['CreateJobBody'];
export type Schedule = Job['schedule'];
export type Execution = Schemas['ExecutionDto'];
export type Problem = Schemas['ProblemDto'];
export type User = Schemas['UserDto'];
export type TokenPair = Schemas['TokenPairDto'];
export type LifecycleType = string;

/**
 * Who is signed in. The tokens live in this module's memory only, never in localStorage or a cookie: a page
 * that script injection could read has nothing to read after the tab closes, and a reload signs in again
 * (returning to the same page). The access token is refreshed with the rotating refresh token shortly before
 * it expires, so a session lasts as long as the tab stays open.
 */
interface Session {
  user: User;
  accessToken: string;
  refreshToken: string;
  expiresAt: number;
}

let session: Session | undefined;
let refreshing: Promise<Session | undefined> | undefined;
const listeners = new Set<(user: User | undefined) => void>();

/** Refresh when less than this is left of the access token's life. */
const REFRESH_MARGIN_MS = 60_000;

export const api = createClient<paths>({ baseUrl: '' });

export function onSessionChange(listener: (user: User | undefined) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function currentUser(): User | undefined {
  return session?.user;
}

export function startSession(pair: TokenPair): void {
  session = { user: pair.user, accessToken: pair.accessToken, refreshToken: pair.refreshToken, expiresAt: Date.now() + pair.expiresIn * 1000 };
  for (const listener of listeners) listener(session.user);
}

export function endSession(): void {
  session = undefined;
  for (const listener of listeners) listener(undefined);
}

/** A valid access token, refreshed first when it is about to expire; undefined when signed out (or the refresh was refused). */
export async function accessToken(): Promise<string | undefined> {
  if (!session) return undefined;
  if (session.expiresAt - Date.now() > REFRESH_MARGIN_MS) return session.accessToken;
  refreshing ??= refresh().finally(() => (refreshing = undefined));
  return (await refreshing)?.accessToken;
}

async function refresh(): Promise<Session | undefined> {
  const spent = session;
  if (!spent) return undefined;
  const { data } = await bare.POST('/api/v1/auth/refresh', { body: { refreshToken: spent.refreshToken } });
  if (session !== spent) return session; // signed out or in again meanwhile
  if (data) startSession(data);
  else endSession();
  return session;
}

/** The auth routes themselves go through a client without the bearer middleware. */
const bare = createClient<paths>({ baseUrl: '' });

const bearer: Middleware = {
  async onRequest({ request }) {
    const token = await accessToken();
    if (token) request.headers.set('Authorization', `Bearer ${token}`);
    return request;
  },
  onResponse({ response }) {
    // A token refused although fresh was revoked (signed out elsewhere, session reused): sign in again.
    if (response.status === 401 && session) endSession();
    return response;
  },
};
api.use(bearer);

export async function signIn(email: string, password: string): Promise<Problem | undefined> {
  const { data, error } = await bare.POST('/api/v1/auth/login', { body: { email, password } });
  if (data) startSession(data);
  return error;
}

export async function register(email: string, password: string, name: string): Promise<Problem | undefined> {
  const { data, error } = await bare.POST('/api/v1/auth/register', { body: { email, password, ...(name ? { name } : {}) } });
  if (data) startSession(data);
  return error;
}

export async function signOut(): Promise<void> {
  // Revokes the access token and its session server-side; forgotten here whatever the answer.
  await api.POST('/api/v1/auth/logout').catch(() => undefined);
  endSession();
}

/** A problem's words for a person: its detail, or its title. */
export function problemText(problem: Problem | undefined, fallback = 'Something went wrong'): string {
  return problem?.detail || problem?.title || fallback;
}
