import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply } from 'fastify';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { AppModule, type AppOptions } from './app.module';
import type { Config } from './config/config';
import { NestLogger, type Logger } from './observability/logger';
import { RequestValidator } from './openapi/request-validator';
import { MetricsRegistry } from './metrics/registry';
import { instrumentHttp } from './observability/http-metrics';
import { recordRoutes } from './openapi/route-table';
import { problem, PROBLEM_CONTENT_TYPE, ProblemException } from './problem/problem';
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
  const adapter = new FastifyAdapter({
    bodyLimit: config.bodyLimit,
    trustProxy: false,
    // Long path parameters reach validation (a 400 naming the field) instead of the router's bare 414.
    routerOptions: { maxParamLength: 2048 },
    // The router's own errors (bad percent-encoding) never reach Nest's filters: answer them as problems here.
    frameworkErrors: (error: Error, _request: unknown, reply: FastifyReply) => {
      void reply
        .status(400)
        .type(PROBLEM_CONTENT_TYPE)
        .send(
          problem('validation', `The request URL is invalid: ${error.message}`, [
            { path: 'path', message: 'is not a valid URL path' },
          ]),
        );
    },
  });
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
  // CSV bodies (PUT /api/v1/leadtime/issues) arrive as text; the service parses them.
  fastify.addContentTypeParser('text/csv', { parseAs: 'string' }, (_request, body, done) => done(null, body));
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
