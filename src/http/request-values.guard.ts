import { HttpStatus, Inject, Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { RequestValidationError, type ProblemField } from './problem-details.filter.js';
import { refusedRequestValues } from './request-values.js';

/** The request headers Chronos reads (their values reach commands, events or subjects). */
const READ_HEADERS = ['Authorization', 'If-Match', 'Last-Event-ID', 'X-Correlation-Id', 'X-Request-Id'];

const ITEMS_CHECKED_ON_THEIR_OWN = 'chronos:items-checked-on-their-own';

/**
 * Each item of the body's array `field` is refused on its own (POST /jobs/batch): the guard checks the rest
 * of the request, and what it finds in an item is left for the route (refusedItemValues) to refuse that item
 * with. It must be found here: the validation pipe that runs next drops `__proto__` keys.
 */
export const ItemsCheckedOnTheirOwn = (field: string) => SetMetadata(ITEMS_CHECKED_ON_THEIR_OWN, field);

const refusedItems = new WeakMap<Request, ReadonlyMap<number, ProblemField[]>>();

/** The values refused in each item of a route marked ItemsCheckedOnTheirOwn, by the item's index. */
export function refusedItemValues(request: Request): ReadonlyMap<number, ProblemField[]> {
  return refusedItems.get(request) ?? new Map();
}

/**
 * One check over the whole request as parsed, before any route sees it: route parameters, the query,
 * the body at every depth (keys included) and the headers Chronos reads. A value no part of the pipeline
 * can carry unchanged (refusedRequestValues) is 422 VALIDATION_FAILED naming its field, so nothing of the
 * request is stored. Global, after authentication and rate limiting (an anonymous caller learns nothing
 * new from it).
 */
@Injectable()
export class RequestValuesGuard implements CanActivate {
  constructor(@Inject(Reflector) private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<Request>();
    const refused = [
      ...refusedRequestValues(request.params, ''),
      ...refusedRequestValues(request.query, ''),
      ...refusedRequestValues(this.bodyChecked(context, request), ''),
      ...READ_HEADERS.flatMap((name) => refusedRequestValues(request.headers[name.toLowerCase()], name)),
    ];
    if (refused.length > 0) throw new RequestValidationError(refused, 'VALIDATION_FAILED', HttpStatus.UNPROCESSABLE_ENTITY);
    return true;
  }

  /** The body, less the items its route refuses on their own (what they carry is noted for it). */
  private bodyChecked(context: ExecutionContext, request: Request): unknown {
    const body: unknown = request.body;
    const field = this.reflector.get<string | undefined>(ITEMS_CHECKED_ON_THEIR_OWN, context.getHandler());
    const items = field !== undefined && typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[field] : undefined;
    if (field === undefined || !Array.isArray(items)) return body;
    const refused = new Map<number, ProblemField[]>();
    items.forEach((item, index) => {
      const fields = refusedRequestValues(item, '');
      if (fields.length > 0) refused.set(index, fields);
    });
    refusedItems.set(request, refused);
    return { ...(body as Record<string, unknown>), [field]: [] };
  }
}
