import { Inject, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { Response } from 'express';
import { concatMap, type Observable } from 'rxjs';
import { trackWritePositions, WritePositions } from '../../commands/write-positions.js';
import { CHRONOS_CONFIG, type ChronosConfig } from '../../config.js';
import { ReadModelPositions } from '../../projections/read-model-positions.js';

/** Says on every answer of a write whether the read models had caught up with it: `current` or `lagging`. */
export const READ_MODELS_HEADER = 'X-Chronos-Read-Models';

/**
 * Holds a write's answer until every read model has passed the log position its commands reached (at most
 * READ_YOUR_WRITES_WAIT_MS), so the client's next read, on any API process, reflects it. Only this
 * request's own commands count: what they cause later (a worker's result) is not waited for.
 */
@Injectable()
export class ReadYourWritesInterceptor implements NestInterceptor {
  constructor(
    private readonly positions: ReadModelPositions,
    @Inject(CHRONOS_CONFIG) private readonly config: ChronosConfig,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const written = new WritePositions();
    return trackWritePositions(written, () => next.handle()).pipe(
      concatMap(async (body) => {
        const current = written.highest === 0 || (await this.positions.waitFor(written.highest, this.config.readYourWritesWaitMs));
        context.switchToHttp().getResponse<Response>().setHeader(READ_MODELS_HEADER, current ? 'current' : 'lagging');
        return body;
      }),
    );
  }
}
