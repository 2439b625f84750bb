import type { Type } from '@nestjs/common';
import { ApiProperty, getSchemaPath, OmitType } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger';
import { CreateJobDto } from './job.dto.js';
import { PAYLOAD_DTOS } from './payload.dto.js';
import { JobDto } from './responses.dto.js';

/**
 * The OpenAPI description of a job as one variant per `type`, each with its own `payload` schema, so that a
 * generated client knows `payload` from `type` (a discriminated union). Validation stays with CreateJobDto and
 * its IsPayloadOfType rule; these classes only describe.
 */
const capitalized = (type: string) => type[0]!.toUpperCase() + type.slice(1);

function variant(base: Type, name: string, type: string, payload: Type): Type {
  class Variant extends base {}
  ApiProperty({ enum: [type] })(Variant.prototype, 'type');
  ApiProperty({ type: payload })(Variant.prototype, 'payload');
  Object.defineProperty(Variant, 'name', { value: name });
  return Variant;
}

const BodyBase = OmitType(CreateJobDto, ['type', 'payload'] as const);
const JobBase = OmitType(JobDto, ['type', 'payload'] as const);
const types = Object.entries(PAYLOAD_DTOS);

export const CREATE_JOB_VARIANTS = types.map(([type, payload]) => variant(BodyBase, `Create${capitalized(type)}JobDto`, type, payload));
export const JOB_VARIANTS = types.map(([type, payload]) => variant(JobBase, `${capitalized(type)}JobDto`, type, payload));
export const PAYLOAD_MODELS = types.map(([, payload]) => payload);

const union = (variants: Type[]): SchemaObject => ({
  oneOf: variants.map((model) => ({ $ref: getSchemaPath(model) })),
  discriminator: { propertyName: 'type', mapping: Object.fromEntries(variants.map((model, i) => [types[i]![0], getSchemaPath(model)])) },
});

/** Named unions added to the document's components (src/http/openapi.ts). */
export const JOB_UNION_SCHEMAS: Record<string, SchemaObject> = { CreateJobBody: union(CREATE_JOB_VARIANTS), Job: union(JOB_VARIANTS) };
export const CREATE_JOB_BODY = { $ref: getSchemaPath('CreateJobBody') };
export const JOB = { $ref: getSchemaPath('Job') };
