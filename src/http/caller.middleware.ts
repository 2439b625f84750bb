import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { CHRONOS_CONFIG, type ChronosConfig } from '../config.js';
import type { Caller } from './caller.js';

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/**
 * Attaches the caller and a request id (from X-Request-Id when it is sane, else new) to every request.
 * Until authentication lands the caller is the one local owner.
 */
@Injectable()
export class CallerMiddleware implements NestMiddleware {
  constructor(@Inject(CHRONOS_CONFIG) private readonly config: ChronosConfig) {}

  use(request: Request & { caller?: Caller }, response: Response, next: NextFunction): void {
    const given = request.header('x-request-id');
    const requestId = given && REQUEST_ID.test(given) ? given : randomUUID();
    response.setHeader('X-Request-Id', requestId);
    request.caller = { id: this.config.localOwnerId, role: 'user', requestId };
    next();
  }
}
