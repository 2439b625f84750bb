import { randomUUID } from 'node:crypto';
import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** Gives every request an id (X-Request-Id when it is sane, else a new one), echoed in the response. */
@Injectable()
export class RequestIdMiddleware implements NestMiddleware {
  use(request: Request & { requestId?: string }, response: Response, next: NextFunction): void {
    const given = request.header('x-request-id');
    request.requestId = given && REQUEST_ID.test(given) ? given : randomUUID();
    response.setHeader('X-Request-Id', request.requestId);
    next();
  }
}
