import { ParseUUIDPipe, ValidationPipe, type ValidationError } from '@nestjs/common';
import { RequestValidationError, type ProblemField } from './problem-details.filter.js';
import { printableKey } from './request-values.js';

/**
 * A custom validator that checks many fields at once (a payload against its type, a record of headers)
 * reports each of them: its message is this prefix and the JSON of the fields, relative to its property.
 */
const NESTED_FIELDS = 'nested fields: ';

export function nestedFieldsMessage(fields: ProblemField[]): string {
  return `${NESTED_FIELDS}${JSON.stringify(fields)}`;
}

/** Flattens class-validator errors into `{ field, message }` with dotted paths (`schedule.expression`, `payload.headers.X-A`). */
export function toProblemFields(errors: ValidationError[], prefix = ''): ProblemField[] {
  return errors.flatMap((error) => {
    const property = printableKey(error.property);
    const field = prefix ? `${prefix}.${property}` : property;
    const own = Object.values(error.constraints ?? {}).flatMap((message) =>
      message.startsWith(NESTED_FIELDS)
        ? (JSON.parse(message.slice(NESTED_FIELDS.length)) as ProblemField[]).map((nested) => ({ field: `${field}.${nested.field}`, message: nested.message }))
        : [{ field, message }],
    );
    return [...own, ...toProblemFields(error.children ?? [], field)];
  });
}

/** How every body is checked, by the pipe and by routes that check bodies themselves (a merged PATCH, batch items). */
export const VALIDATOR_OPTIONS = {
  whitelist: true,
  forbidNonWhitelisted: true,
  // Bodies of actions without fields (resume, cancel, trigger) are classes without metadata: whitelisting
  // still rejects any field they carry.
  forbidUnknownValues: false,
  validationError: { target: false, value: false },
} as const;

/** Rejects unknown fields at every depth and reports every offending field at once. */
export function validationPipe(): ValidationPipe {
  return new ValidationPipe({
    ...VALIDATOR_OPTIONS,
    transform: true,
    exceptionFactory: (errors) => new RequestValidationError(toProblemFields(errors)),
  });
}

/** Route ids are UUIDs; anything else is a validation error naming the parameter. */
export const uuidParam = (name = 'id') =>
  new ParseUUIDPipe({ exceptionFactory: () => new RequestValidationError([{ field: name, message: 'must be a UUID' }]) });
