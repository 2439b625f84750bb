import type { INestApplication, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import express from 'express';
import helmet from 'helmet';
import { AppModule, type Infrastructure } from './app.module.js';
import type { ChronosConfig } from './config.js';
import { createDataSource } from './infra/database/data-source.js';
import { NatsClients } from './infra/nats.js';
import { createRedis } from './infra/redis.js';
import { EventLogTransport } from './infra/transport/event-stream.transport.js';
import { lowestCheckpoint } from './projections/checkpointed-projection.js';
import { createLogger } from './observability/logger.js';
import { answerUnknownPath, ProblemDetailsFilter } from './http/problem-details.filter.js';
import { MAX_JSON_DEPTH, refuseDeepJson } from './http/json-depth.js';
import { createOpenApiDocument } from './http/openapi.js';
import { webApp } from './http/web-app.js';
import { validationPipe } from './http/validation.js';
import { READ_MODELS_HEADER } from './http/read-your-writes/read-your-writes.interceptor.js';

export const API_PREFIX = 'api/v1';
const BODY_LIMIT = '256kb';
/** POST /jobs/batch carries up to 1,000 job bodies. */
const BATCH_BODY_LIMIT = '4mb';

export interface ChronosApp {
  app: INestApplication;
  infra: Infrastructure;
  /** The port the HTTP server listens on (useful when PORT=0). */
  port: number;
  close(): Promise<void>;
}

/** Connects to NATS, PostgreSQL and Redis, wires the configured roles, and starts listening. */
export async function startChronos(config: ChronosConfig, logger: LoggerService = createLogger(config.logLevel)): Promise<ChronosApp> {
  const nats = await NatsClients.connect(config.natsUrl, `chronos-${config.instanceId}`, config.replication);
  for (const warning of nats.replication.warnings) logger.warn(warning, 'Replication');
  const dataSource = await createDataSource(config.databaseUrl).initialize();
  const redis = createRedis(config.redisUrl);
  await redis.connect().catch(() => undefined); // Redis is for ephemeral data: Chronos starts without it.
  const infra: Infrastructure = { nats, dataSource, redis };

  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, infra), { logger, bodyParser: false });
  // express.json directly: Nest reserves body-parser's `verify`, which refuses over-deep JSON before parsing.
  // The batch route's parser runs first; the next one leaves a body already parsed alone.
  app.use(`/${API_PREFIX}/jobs/batch`, express.json({ limit: BATCH_BODY_LIMIT, verify: refuseDeepJson(MAX_JSON_DEPTH + 2) }));
  app.use(express.json({ limit: BODY_LIMIT, verify: refuseDeepJson() }));
  // Swagger UI needs inline scripts and styles; everything else, the web dashboard included, gets helmet's strict defaults.
  const swaggerUiHeaders = helmet({ contentSecurityPolicy: { directives: { 'script-src': ["'self'", "'unsafe-inline'"], 'style-src': ["'self'", "'unsafe-inline'", 'https:'] } } });
  const strictHeaders = helmet();
  app.use((req: express.Request, res: express.Response, next: express.NextFunction) => (/^\/docs(?:\/|$)/.test(req.path) ? swaggerUiHeaders : strictHeaders)(req, res, next));
  app.enableCors({ origin: config.corsOrigins.length ? config.corsOrigins : false, exposedHeaders: ['ETag', 'X-Request-Id', READ_MODELS_HEADER, 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'Retry-After'] });
  app.setGlobalPrefix(API_PREFIX, { exclude: ['health', 'health/live', 'health/ready', 'metrics', 'asyncapi.json'] });
  app.useGlobalFilters(new ProblemDetailsFilter());
  app.useGlobalPipes(validationPipe());
  app.enableShutdownHooks();
  app.disable('x-powered-by');
  SwaggerModule.setup('docs', app, () => createOpenApiDocument(app), { jsonDocumentUrl: 'docs-json' });
  const dashboard = config.roles.has('api') ? webApp() : undefined;
  if (dashboard) app.use(dashboard);

  if (config.roles.has('projector')) {
    app.connectMicroservice({ strategy: new EventLogTransport(nats, config.instanceId, config.leaseTtlMs, (names) => lowestCheckpoint(dataSource, names)) }, { inheritAppConfig: true });
    await app.startAllMicroservices();
  }
  // Nest's routes are registered by init(); what none of them (and no dashboard file) answers ends here.
  await app.init();
  app.use(answerUnknownPath);
  await app.listen(config.port, config.host);
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.port;

  let closing: Promise<void> | undefined;
  return {
    app,
    infra,
    port,
    close: () =>
      (closing ??= (async () => {
        await app.close();
        await nats.close();
        await dataSource.destroy();
        redis.disconnect();
      })()),
  };
}
