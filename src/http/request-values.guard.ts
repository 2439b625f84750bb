import { HttpStatus, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { RequestValidationError } from './problem-details.filter.js';
import { refusedRequestValues } from './request-values.js';

/** The request headers Chronos reads (their values reach commands, events or subjects). */
const READ_HEADERS = ['Authorization', 'If-Match', 'Last-Event-ID', 'X-Correlation-Id', 'X-Request-Id'];

/**
 * One check over the whole request as parsed, before any route sees it: route parameters, the query,
 * the body at every depth (keys included) and the headers Chronos reads. A value no part of the pipeline
 * can carry unchanged (refusedRequestValues) is 422 VALIDATION_FAILED naming its field, so nothing of the
 * request is stored. Global, after authentication and rate limiting (an anonymous caller learns nothing
 * new from it).
 */
@Injectable()
export class RequestValuesGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<Request>();
    const refused = [
      ...refusedRequestValues(request.params, ''),
      ...refusedRequestValues(request.query, ''),
      ...refusedRequestValues(request.body, ''),
      ...READ_HEADERS.flatMap((name) => refusedRequestValues(request.headers[name.toLowerCase()], name)),
    ];
    if (refused.length > 0) throw new RequestValidationError(refused, 'VALIDATION_FAILED', HttpStatus.UNPROCESSABLE_ENTITY);
    return true;
  }
}
