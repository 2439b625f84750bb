import { ParseUUIDPipe, ValidationPipe, type ValidationError } from '@nestjs/common';
import { RequestValidationError, type ProblemField } from './problem-details.filter.js';

/** Flattens class-validator errors into `{ field, message }` with dotted paths (`schedule.expression`). */
export function toProblemFields(errors: ValidationError[], prefix = ''): ProblemField[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).flatMap((message) =>
      // Payload errors arrive as one message per nested field: "payload.url: must be a URL; payload.x: ...".
      message.split('; ').map((part) => {
        const nested = /^(payload(?:\.[\w-]+)+): (.*)$/.exec(part);
        return nested ? { field: nested[1]!, message: nested[2]! } : { field, message: part };
      }),
    );
    return [...own, ...toProblemFields(error.children ?? [], field)];
  });
}

/** Rejects unknown fields at every depth and reports every offending field at once. */
export function validationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    // Bodies of actions without fields (resume, cancel, trigger) are classes without metadata: whitelisting
    // still rejects any field they carry.
    forbidUnknownValues: false,
    transform: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => new RequestValidationError(toProblemFields(errors)),
  });
}

/** Route ids are UUIDs; anything else is a validation error naming the parameter. */
export const uuidParam = (name = 'id') =>
  new ParseUUIDPipe({ exceptionFactory: () => new RequestValidationError([{ field: name, message: 'must be a UUID' }]) });
