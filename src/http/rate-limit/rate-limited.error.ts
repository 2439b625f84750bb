import { HttpException, HttpStatus } from '@nestjs/common';

/**
 * 429: a rate limit refused the request. The problem-details filter should answer with `code` RATE_LIMITED and a
 * `Retry-After: retryAfterSeconds` header (the guard already sets that header before throwing).
 */
export class RateLimitedError extends HttpException {
  readonly code = 'RATE_LIMITED';

  constructor(readonly retryAfterSeconds: number) {
    super(`too many requests; retry in ${retryAfterSeconds} s`, HttpStatus.TOO_MANY_REQUESTS);
  }
}
