import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { AppModule, type AppOptions } from './app.module';
import type { Config } from './config/config';
import { NestLogger, type Logger } from './observability/logger';
import { RequestValidator } from './openapi/request-validator';
import { MetricsRegistry } from './metrics/registry';
import { instrumentHttp } from './observability/http-metrics';
import { recordRoutes } from './openapi/route-table';
import { ProblemException } from './problem/problem';
import { loadSpec } from './openapi/spec';
import { createWriteAccess } from './security/write-access';

/**
 * Builds the application: Fastify with the body limit, write access and request validation as hooks that run
 * before any Nest handler, and Swagger UI at /ui. Errors from hooks and handlers alike reach Nest's exception
 * filters (Nest installs Fastify's error handler), so every error leaves as a problem document.
 */
export async function createApp(
  config: Config,
  logger: Logger,
  options: AppOptions = {},
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({ bodyLimit: config.bodyLimit, trustProxy: false });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.with(config, logger, options), adapter, {
    logger: new NestLogger(logger),
    abortOnError: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  const { document } = loadSpec();
  const validator = new RequestValidator(document);
  const checkWrite = createWriteAccess(config);

  // Before the body is read: a refused write costs nothing.
  fastify.addHook('onRequest', async (request) => {
    if (config.role === 'checker' && request.url.startsWith('/api/')) {
      throw ProblemException.of(
        'not-found',
        'This process runs with ROLE=checker; the API is served by ROLE=all or ROLE=api.',
      );
    }
    checkWrite(request.method, request.headers.authorization);
  });
  instrumentHttp(fastify, app.get(MetricsRegistry), logger);
  fastify.addHook('preValidation', async (request) => {
    const route = request.routeOptions.url;
    if (route !== undefined) validator.validate(request.method, route, request);
  });

  recordRoutes(fastify);
  await app.register(fastifySwagger, { mode: 'static', specification: { document: document as never } });
  await app.register(fastifySwaggerUi, { routePrefix: '/ui' });
  await app.init();
  return app;
}
