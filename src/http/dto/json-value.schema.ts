import type { SchemaObject } from '@nestjs/swagger';

/**
 * Any JSON value, null included: what a job hands its target or handler as is, and what a custom handler returns.
 * OpenAPI 3.0's `nullable` applies to a schema with a `type` only, so null rides on the object branch.
 */
export const JSON_VALUE = {
  anyOf: [{ type: 'object', additionalProperties: true, nullable: true }, { type: 'array', items: {} }, { type: 'string' }, { type: 'number' }, { type: 'boolean' }],
} satisfies SchemaObject;
