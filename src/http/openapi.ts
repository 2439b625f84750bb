import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type HeaderObject, type OpenAPIObject, type OperationObject, type ResponseObject } from '@nestjs/swagger';
import { CREATE_JOB_VARIANTS, JOB_UNION_SCHEMAS, JOB_VARIANTS } from './dto/job-variants.dto.js';
import { ProblemDto } from './dto/responses.dto.js';
import { documentReadYourWrites } from './read-your-writes/read-your-writes.decorator.js';
import { RATE_LIMIT_EXTENSION } from './rate-limit/rate-limit.guard.js';

const PROBLEM_REF = '#/components/schemas/ProblemDto';
const problem = (description: string, headers?: Record<string, HeaderObject>): ResponseObject => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/problem+json': { schema: { $ref: PROBLEM_REF } } },
});

const integerHeader = (description: string): HeaderObject => ({ description, schema: { type: 'integer', minimum: 0 } });
const RATE_LIMIT_HEADERS: Record<string, HeaderObject> = {
  'RateLimit-Limit': integerHeader('requests allowed in the window of the tightest rule that applies'),
  'RateLimit-Remaining': integerHeader('requests left in that window'),
  'RateLimit-Reset': integerHeader('seconds until the quota is whole again'),
};
const RETRY_AFTER: Record<string, HeaderObject> = { 'Retry-After': integerHeader('seconds to wait before trying again') };

/**
 * The OpenAPI document Chronos serves at /docs-json, and the one the web dashboard's client is generated
 * from (web/src/api/schema.d.ts): controllers and DTOs describe each route; the rules below add what
 * holds for every route alike, from the same facts the server acts on:
 * - errors are problem details: every ProblemDto answer is `application/problem+json`;
 * - a route without a bearer requirement is public (`security: []`); a secured one can answer 401;
 * - a route is rate-limited unless its RateLimit decorator says `none` (x-chronos-rate-limit): its answers
 *   carry RateLimit-*, and it can answer 429 with Retry-After;
 * - a route that takes input can answer 400 VALIDATION_FAILED;
 * - every route but liveness can answer 503 SERVICE_UNAVAILABLE with Retry-After while NATS or PostgreSQL is away;
 * - a write marked @ReadYourWrites says in X-Chronos-Read-Models whether the read models caught up.
 */
export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Chronos')
    .setDescription('Distributed, event-sourced job scheduler: jobs fire on time, once, with a history you can replay.')
    .setVersion('0.1.0')
    .addServer('/', 'this Chronos (paths carry the /api/v1 prefix)')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'the accessToken of POST /api/v1/auth/login' })
    .build();
  const document = SwaggerModule.createDocument(app, config, { extraModels: [ProblemDto, ...CREATE_JOB_VARIANTS, ...JOB_VARIANTS] });
  document.components = { ...document.components, schemas: { ...document.components?.schemas, ...JOB_UNION_SCHEMAS } };
  for (const item of Object.values(document.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
      const operation = item[method];
      if (operation) completeOperation(operation);
    }
  }
  return documentReadYourWrites(document);
}

function completeOperation(operation: OperationObject): void {
  const responses = operation.responses as Record<string, ResponseObject>;
  for (const response of Object.values(responses)) {
    const json = response.content?.['application/json'];
    if (json && '$ref' in json.schema! && json.schema.$ref === PROBLEM_REF) response.content = { 'application/problem+json': json };
  }
  const secured = (operation.security ?? []).some((requirement: Record<string, string[]>) => 'bearer' in requirement);
  if (secured) responses['401'] ??= problem('UNAUTHENTICATED, TOKEN_EXPIRED: no valid access token');
  else operation.security = [];
  if (operation.requestBody || operation.parameters?.length) responses['400'] ??= problem('VALIDATION_FAILED: the offending fields are listed in `errors`');
  // Liveness needs nothing but the process.
  if (operation.operationId !== 'HealthController_live') {
    responses['503'] ??= problem('SERVICE_UNAVAILABLE: NATS or PostgreSQL is away (restarting); try again after Retry-After', RETRY_AFTER);
  }

  const limit: unknown = Object.getOwnPropertyDescriptor(operation, RATE_LIMIT_EXTENSION)?.value ?? 'api';
  Object.assign(operation, { [RATE_LIMIT_EXTENSION]: limit });
  if (limit === 'none') return;
  for (const [status, response] of Object.entries(responses)) {
    if (status !== '429') response.headers = { ...RATE_LIMIT_HEADERS, ...response.headers };
  }
  responses['429'] = problem(limit === 'auth' ? 'RATE_LIMITED: too many attempts from this IP address or for this email' : 'RATE_LIMITED: this user made too many requests', {
    ...RATE_LIMIT_HEADERS,
    ...RETRY_AFTER,
  });
}
