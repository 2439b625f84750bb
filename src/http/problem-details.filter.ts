import { ArgumentsHost, Catch, HttpException, HttpStatus, Logger, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AuthenticationError, ConflictError, ForbiddenError } from '../auth/auth.errors.js';
import { requestPath } from './http-requests.middleware.js';
import { RateLimitedError } from './rate-limit/rate-limited.error.js';
import { ConcurrencyError, DomainError, IllegalStateError, NotFoundError, ValidationError } from '../domain/errors.js';

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
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

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
    const problem = this.toProblem(exception, request);
    if (problem.status >= 500) {
      this.log.error({ msg: 'request failed', method: request.method, path: requestPath(request), error: (exception as Error)?.stack ?? String(exception) });
    }
    if (response.headersSent) return;
    if (problem.status === 401) response.setHeader('WWW-Authenticate', 'Bearer');
    if (exception instanceof RateLimitedError) response.setHeader('Retry-After', String(exception.retryAfterSeconds));
    response
      .status(problem.status)
      .type('application/problem+json')
      .json({
        type: `https://chronos.dev/problems/${problem.code.toLowerCase().replace(/_/g, '-')}`,
        title: problem.title,
        status: problem.status,
        detail: problem.detail,
        instance: request.originalUrl,
        code: problem.code,
        ...(problem.errors?.length ? { errors: problem.errors } : {}),
      });
  }

  private toProblem(exception: unknown, request: Request): Problem {
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
    return make(500, 'INTERNAL_ERROR', 'the server could not handle the request; it has been logged');
  }
}
