import { Inject, Injectable, Logger, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { logContext } from '../observability/log-context.js';
import { METRICS, type ChronosMetrics } from '../observability/metrics.js';
import type { Caller } from './caller.js';

/** Probes and scrapes: logged at debug, so that they do not drown the requests people make. */
const OPERATOR_PATH = /^\/(health|metrics)(\/|$)/;

/** What a log line may show of a request's URL: its path, never its query (which may carry tokens). */
export const requestPath = (request: Request): string => request.originalUrl.split('?')[0]!;

/**
 * Counts, times and logs every completed HTTP request: metrics by route pattern (not URL: ids would explode
 * the labels), and one log line with the path (never the query, headers or body), status, duration and user.
 */
@Injectable()
export class HttpRequestsMiddleware implements NestMiddleware {
  private readonly log = new Logger('HTTP');

  constructor(@Inject(METRICS) private readonly metrics: ChronosMetrics) {}

  use(request: Request & { caller?: Caller }, response: Response, next: NextFunction): void {
    const started = process.hrtime.bigint();
    // 'finish' is emitted from outside the request's log context: its fields go on the line by hand (binding
    // the listener to the context, AsyncLocalStorage.bind, cost more than the rest of the line).
    const context = logContext();
    const finished = () => {
      const route = (request.route as { path?: string } | undefined)?.path ?? 'unmatched';
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const status = response.statusCode;
      this.metrics.httpRequests.inc({ method: request.method, route, status: String(status) });
      this.metrics.httpDuration.observe({ method: request.method, route }, seconds);
      const path = requestPath(request);
      const line = { ...context, msg: 'request completed', method: request.method, route, path, status, durationMs: Math.round(seconds * 1e4) / 10, userId: request.caller?.id };
      if (status >= 500) this.log.error(line);
      else if (OPERATOR_PATH.test(path)) this.log.debug(line);
      else this.log.log(line);
    };
    response.on('finish', finished);
    next();
  }
}
