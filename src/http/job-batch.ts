import { HttpStatus, Logger } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import type { Request } from 'express';
import type { JobCaller, JobRequest, JobsService } from '../commands/jobs.service.js';
import { CreateJobDto } from './dto/job.dto.js';
import type { JobDto, ProblemDto } from './dto/responses.dto.js';
import { toJobDto } from './job.mapper.js';
import { logFailure, problemOf, RequestValidationError, type ProblemField } from './problem-details.filter.js';
import { refusedItemValues } from './request-values.guard.js';
import { refusedRequestValues } from './request-values.js';
import { toProblemFields, VALIDATOR_OPTIONS } from './validation.js';

/** Items of one batch created at once: enough to overlap the appends' round trips, few enough to keep order cheap. */
const CREATES_IN_FLIGHT = 16;
const log = new Logger('HTTP');

/**
 * One body checked by the rules POST /jobs applies: the edge's value check (`refused`, what RequestValuesGuard
 * found in it), then the DTO's.
 */
export async function asCreateBody(body: unknown, refused: ProblemField[] = refusedRequestValues(body, '')): Promise<JobRequest> {
  if (refused.length > 0) throw new RequestValidationError(refused, 'VALIDATION_FAILED', HttpStatus.UNPROCESSABLE_ENTITY);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new RequestValidationError([{ field: 'body', message: 'must be a job object' }]);
  const dto = plainToInstance(CreateJobDto, body);
  const errors = await validate(dto, VALIDATOR_OPTIONS);
  if (errors.length) throw new RequestValidationError(toProblemFields(errors));
  return dto;
}

/**
 * POST /jobs/batch: each body checked and created on its own, exactly as POST /jobs would, the answer one
 * item per body in order: the job, or the problem details POST /jobs would have answered for that body.
 */
export async function createEach(jobs: JobsService, bodies: readonly unknown[], caller: JobCaller, request: Request): Promise<Array<JobDto | ProblemDto>> {
  const items: Array<JobDto | ProblemDto> = new Array(bodies.length);
  const refused = refusedItemValues(request);
  let next = 0;
  const createNext = async (): Promise<void> => {
    for (let index = next++; index < bodies.length; index = next++) {
      try {
        items[index] = toJobDto((await jobs.create(await asCreateBody(bodies[index], refused.get(index) ?? []), caller)).state, null);
      } catch (failure) {
        const problem = problemOf(failure, request);
        if (problem.status >= 500) logFailure(log, failure, request);
        items[index] = problem;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CREATES_IN_FLIGHT, bodies.length) }, createNext));
  return items;
}
