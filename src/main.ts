// First: tracing must patch http, pg and undici before anything loads them.
import { startTracing, stopTracing } from './observability/tracing';
startTracing();

import { loadConfigOrExit } from './config/config';
import { createApp } from './app.factory';
import { createLogger } from './observability/logger';

async function main(): Promise<void> {
  const config = loadConfigOrExit(process.env);
  const logger = createLogger(config.logLevel, { file: config.logFile });
  const app = await createApp(config, logger);
  await app.listen(config.port, config.host);
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const base = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info(`Vitals is listening on ${base}; Swagger UI at ${base}/ui`, { port });

  let closing = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    logger.info('shutting down', { signal });
    app
      .close()
      .then(() => stopTracing())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error('shutdown failed', { error: error instanceof Error ? error.message : String(error) });
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`vitals: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
