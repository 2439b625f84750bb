import { ArgumentsHost, Catch, HttpException, HttpStatus, Logger, NotFoundException, type ExceptionFilter } from '@nestjs/common';
import type { ProblemDto } from './dto/responses.dto.js';
import type { Request, Response } from 'express';
import { AuthenticationError, ConflictError, ForbiddenError } from '../auth/auth.errors.js';
import { requestPath } from './http-requests.middleware.js';
import { RateLimitedError } from './rate-limit/rate-limited.error.js';
import { ConcurrencyError, DomainError, HistoryCompactedError, IllegalStateError, NotFoundError, ValidationError } from '../domain/errors.js';

export interface ProblemField {
  field: string;
  message: string;
}

/** Bad request input: every offending field, 400 VALIDATION_FAILED (or another code for a specific rule). */
export class RequestValidationError extends HttpException {
  constructor(
    readonly errors: ProblemField[],
    readonly code = 'VALIDATION_FAILED',
    status = HttpStatus.BAD_REQUEST,
  ) {
    super(errors.map((e) => `${e.field}: ${e.message}`).join('; ') || 'invalid request', status);
  }
}

interface Problem {
  status: number;
  code: string;
  title: string;
  detail: string;
  errors?: ProblemField[];
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** How long a client is told to wait before trying again while a dependency is away (a restart takes seconds). */
export const UNAVAILABLE_RETRY_AFTER_S = 5;

/** Errors of the NATS client that mean the server is away or did not answer, not that the request was wrong. */
const NATS_UNAVAILABLE = new Set(['TimeoutError', 'ConnectionError', 'ClosedConnectionError', 'DrainingConnectionError', 'NoRespondersError', 'RequestError', 'JetStreamNotEnabled', 'JetStreamPublishTimeoutError']);
/** Socket errors of the pg driver: PostgreSQL is not there (restarting, killed). */
const SOCKET_UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTCONN']);
/** SQLSTATEs of a server that is going away or not yet up: admin/crash shutdown, cannot connect now, too many connections. */
const SQLSTATE_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '53300']);
/** pg and pg-pool say these in words only: a connection lost mid-query, no connection within the pool's timeout, a query read timeout. */
const PG_UNAVAILABLE = /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error)/;

/**
 * Whether an error means that NATS or PostgreSQL is away (killed, restarting, not answering in time) rather
 * than a fault of the request or a bug: then the answer is 503 with Retry-After, and the client tries again.
 * TypeORM wraps driver errors (`driverError`), others chain them (`cause`).
 */
export function dependencyUnavailable(exception: unknown): boolean {
  for (let error = exception as { name?: string; code?: unknown; status?: unknown; message?: string; cause?: unknown; driverError?: unknown } | undefined, depth = 0; error && depth < 5; depth++) {
    if (typeof error !== 'object') return false;
    if (error.name && NATS_UNAVAILABLE.has(error.name)) return true;
    if (error.name === 'JetStreamPublishError' && error.status === 503) return true;
    if (typeof error.code === 'string' && (SOCKET_UNAVAILABLE.has(error.code) || SQLSTATE_UNAVAILABLE.has(error.code) || error.code.startsWith('08'))) return true;
    if (typeof error.message === 'string' && PG_UNAVAILABLE.test(error.message)) return true;
    error = (error.driverError ?? error.cause) as typeof error;
  }
  return false;
}

/**
 * The one place errors become responses: RFC 9457 problem details with a stable `code`, never a stack
 * trace or an internal message.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly log = new Logger('HTTP');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const request = host.switchToHttp().getRequest<Request>();
    const response = host.switchToHttp().getResponse<Response>();
    const problem = problemOf(exception, request);
    if (problem.status >= 500) logFailure(this.log, exception, request);
    if (response.headersSent) return;
    if (problem.status === 401) response.setHeader('WWW-Authenticate', 'Bearer');
    if (exception instanceof RateLimitedError) response.setHeader('Retry-After', String(exception.retryAfterSeconds));
    if (problem.code === 'SERVICE_UNAVAILABLE') response.setHeader('Retry-After', String(UNAVAILABLE_RETRY_AFTER_S));
    response.status(problem.status).type('application/problem+json').json(problem);
  }
}

/**
 * The last handler of the HTTP server: a path no route and no dashboard file answered. Under /api/v1 Nest
 * answers this itself; everywhere else Express would send its HTML "Cannot GET". The same problem, instead.
 */
export function answerUnknownPath(request: Request, response: Response): void {
  response.status(404).type('application/problem+json').json(problemOf(new NotFoundException(), request));
}

/** The log line of a request (or of one item of a batch) that failed on the server's side. */
export function logFailure(log: Logger, exception: unknown, request: Request): void {
  log.error({ msg: 'request failed', method: request.method, path: requestPath(request), error: (exception as Error)?.stack ?? String(exception) });
}

/** The RFC 9457 problem details of `exception`, as the API answers them (also one item of a batch answer). */
export function problemOf(exception: unknown, request: Request): ProblemDto {
  const problem = toProblem(exception, request);
  return {
    type: `https://chronos.dev/problems/${problem.code.toLowerCase().replace(/_/g, '-')}`,
    title: problem.title,
    status: problem.status,
    detail: problem.detail,
    instance: request.originalUrl,
    code: problem.code,
    ...(problem.errors?.length ? { errors: problem.errors } : {}),
  };
}

function toProblem(exception: unknown, request: Request): Problem {
  const make = (status: number, code: string, detail: string, errors?: ProblemField[]): Problem => ({
    status,
    code,
    title: TITLES[status] ?? 'Error',
    detail,
    ...(errors ? { errors } : {}),
  });
  if (exception instanceof DomainError) {
    if (exception instanceof ValidationError) return make(422, exception.code, exception.message, exception.errors);
    if (exception instanceof NotFoundError) return make(404, exception.code, exception.message);
    if (exception instanceof ConcurrencyError) return make(exception.precondition ? 412 : 409, exception.code, exception.message);
    if (exception instanceof IllegalStateError || exception instanceof ConflictError) return make(409, exception.code, exception.message);
    if (exception instanceof ForbiddenError) return make(403, exception.code, exception.message);
    if (exception instanceof HistoryCompactedError) return make(410, exception.code, exception.message);
    if (exception instanceof AuthenticationError) return make(401, exception.code, exception.message);
    return make(422, exception.code, exception.message);
  }
  if (exception instanceof RateLimitedError) return make(429, exception.code, exception.message);
  if (exception instanceof RequestValidationError) {
    return make(exception.getStatus(), exception.code, exception.message, exception.errors);
  }
  // Errors raised by the body parser before Nest sees the request (malformed JSON, too large, wrong charset).
  // Express maps them to HttpExceptions whose `cause` is the parser's error.
  const bodyError = ((exception as { cause?: unknown })?.cause ?? exception) as { type?: string };
  if (bodyError?.type === 'entity.parse.failed') return make(400, 'MALFORMED_JSON', 'the request body is not valid JSON', [{ field: 'body', message: 'must be valid JSON' }]);
  // The router could not decode a path segment (`%ED%A0%80`, `%FF`: not UTF-8), so no route saw it.
  if (bodyError instanceof URIError) {
    return make(400, 'VALIDATION_FAILED', 'the request path is not percent-encoded UTF-8', [{ field: 'path', message: 'must be percent-encoded UTF-8' }]);
  }
  if (bodyError?.type === 'entity.too.large') return make(413, 'PAYLOAD_TOO_LARGE', 'the request body is too large');
  if (bodyError?.type === 'entity.too.deep') return make(400, 'BODY_TOO_DEEP', (bodyError as Error).message, [{ field: 'body', message: (bodyError as Error).message }]);
  if (typeof bodyError?.type === 'string' && bodyError.type.startsWith('encoding.') || bodyError?.type === 'charset.unsupported') {
    return make(415, 'UNSUPPORTED_MEDIA_TYPE', 'the request body encoding is not supported');
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    if (status === 404) return make(404, 'ROUTE_NOT_FOUND', `no route ${request.method} ${request.path}`);
    const code = (TITLES[status] ?? 'HTTP_ERROR').toUpperCase().replace(/[^A-Z]+/g, '_');
    return make(status, code, status >= 500 ? 'the server could not handle the request' : exception.message);
  }
  if (dependencyUnavailable(exception)) return make(503, 'SERVICE_UNAVAILABLE', `a service Chronos depends on is not answering; try again in ${UNAVAILABLE_RETRY_AFTER_S} s`);
  return make(500, 'INTERNAL_ERROR', 'the server could not handle the request; it has been logged');
}
