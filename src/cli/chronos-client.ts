/** Where Chronos is and how to sign in: a bearer token, or an email and password to log in with. */
export interface Connection {
  /** The server's root, e.g. http://127.0.0.1:3000 (the API is under /api/v1). */
  url: string;
  token?: string;
  email?: string;
  password?: string;
}

/** An error answered by Chronos as problem details (RFC 9457): printed as `error CODE: detail`. */
export class ProblemError extends Error {
  override readonly name = 'ProblemError';

  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
    /** Seconds from Retry-After, when the server sent one (429). */
    readonly retryAfterSeconds?: number,
  ) {
    super(detail);
  }
}

/** Chronos did not answer at all (refused, unknown host, reset): printed as one line, never a stack. */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
}

const API_PREFIX = '/api/v1';

/**
 * A client of Chronos's REST API for the CLI: it signs in as configured, turns problem+json answers into
 * ProblemError and network failures into UnreachableError. With an email and password it logs in again
 * when the access token expires, so a long tail or rebuild outlives the token's 15 minutes.
 */
export class ChronosClient {
  private token: string | undefined;

  constructor(private readonly connection: Connection) {
    this.token = connection.token;
  }

  get url(): string {
    return this.connection.url;
  }

  async get<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined) search.set(key, String(value));
    const queryString = search.toString();
    return (await this.send('GET', queryString ? `${path}?${queryString}` : path)).json() as Promise<T>;
  }

  async post<T>(path: string, body: unknown = {}): Promise<T> {
    return (await this.send('POST', path, body)).json() as Promise<T>;
  }

  /** A GET whose answer is read as a stream (server-sent events); the status is checked, the body left unread. */
  stream(path: string, headers: Record<string, string>, signal: AbortSignal): Promise<Response> {
    return this.send('GET', path, undefined, { accept: 'text/event-stream', ...headers }, signal);
  }

  private async send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
    const canLogIn = this.connection.email !== undefined && this.connection.password !== undefined;
    if (!this.token && canLogIn) await this.logIn();
    let response = await this.fetch(method, path, body, headers, signal);
    if (response.status === 401 && canLogIn) {
      await response.body?.cancel();
      await this.logIn();
      response = await this.fetch(method, path, body, headers, signal);
    }
    if (!response.ok) throw await problemOf(response);
    return response;
  }

  private async logIn(): Promise<void> {
    this.token = undefined;
    const response = await this.fetch('POST', '/auth/login', { email: this.connection.email, password: this.connection.password });
    if (!response.ok) throw await problemOf(response);
    this.token = ((await response.json()) as { accessToken: string }).accessToken;
  }

  private async fetch(method: string, path: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
    try {
      return await fetch(`${this.connection.url}${API_PREFIX}${path}`, {
        method,
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (error) {
      throw new UnreachableError(`cannot reach Chronos at ${this.connection.url} (${networkReason(error)})`);
    }
  }
}

/** The problem an error answer carries; a non-problem answer (a proxy's HTML page) becomes HTTP_<status>. */
async function problemOf(response: Response): Promise<ProblemError> {
  const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN);
  const text = await response.text();
  let problem: { code?: unknown; detail?: unknown } = {};
  try {
    problem = JSON.parse(text) as typeof problem;
  } catch {
    // not JSON: described by its status below
  }
  const code = typeof problem.code === 'string' ? problem.code : `HTTP_${response.status}`;
  const detail = typeof problem.detail === 'string' ? problem.detail : response.statusText || 'the server answered with an error';
  return new ProblemError(response.status, code, detail, Number.isFinite(retryAfter) ? retryAfter : undefined);
}

/** fetch() says only "fetch failed"; the reason is in its cause. */
function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  switch (cause?.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ECONNRESET':
      return 'connection reset';
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connection timed out';
    default:
      return cause?.message ?? (error as Error).message;
  }
}
