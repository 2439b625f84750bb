import type { SchemaObject } from '@nestjs/swagger';

/** Any JSON value, null included: what a job hands its target or handler as is, and what a custom handler returns. */
export const JSON_VALUE = {
  nullable: true,
  anyOf: [{ type: 'object', additionalProperties: true }, { type: 'array', items: {} }, { type: 'string' }, { type: 'number' }, { type: 'boolean' }],
} satisfies SchemaObject;
