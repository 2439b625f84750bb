import { randomUUID } from 'node:crypto';
import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { withLogContext } from '../observability/log-context.js';

const SANE_ID = /^[\w.:-]{1,128}$/;

/** The ids a request carries from here on. */
export interface RequestIds {
  requestId: string;
  /** The correlation id of the commands the request issues, and so of their events and what follows them. */
  correlationId: string;
}

const saneHeader = (request: Request, name: string): string | undefined => {
  const given = request.header(name);
  return given && SANE_ID.test(given) ? given : undefined;
};

/**
 * Gives every request an id (X-Request-Id when it is sane, else a new one), echoed in the response, and a
 * correlation id (X-Correlation-Id when it is sane, else the request id); the rest of the request runs in a
 * log context holding both.
 */
@Injectable()
export class RequestIdMiddleware implements NestMiddleware {
  use(request: Request & Partial<RequestIds>, response: Response, next: NextFunction): void {
    const requestId = saneHeader(request, 'x-request-id') ?? randomUUID();
    const correlationId = saneHeader(request, 'x-correlation-id') ?? requestId;
    Object.assign(request, { requestId, correlationId });
    response.setHeader('X-Request-Id', requestId);
    withLogContext({ requestId, correlationId }, next);
  }
}
