import { registerDecorator, type ValidationArguments } from 'class-validator';
import { INSTANT_FORMAT, INSTANT_RANGE, parseInstant } from '../../domain/instant.js';

/** The OpenAPI description of every instant a client sends. */
export const INSTANT_DESCRIPTION = `${INSTANT_FORMAT}; within ${INSTANT_RANGE} once its offset applies; shown back in UTC with milliseconds`;

/** An instant in the one form Chronos accepts (src/domain/instant.ts): the message says what is wrong with it. */
export function IsInstant() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isInstant',
      target: target.constructor,
      propertyName,
      validator: {
        validate: (value: unknown) => parseInstant(value).ok,
        defaultMessage: (args?: ValidationArguments) => {
          const parsed = parseInstant(args?.value);
          return `${propertyName} ${parsed.ok ? 'is an instant' : parsed.reason}`;
        },
      },
    });
}
