import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { PassThrough } from 'node:stream';
import { createApp } from '../../src/app.factory';
import type { AppOptions } from '../../src/app.module';
import { loadConfig, type Config } from '../../src/config/config';
import { createLogger } from '../../src/observability/logger';

/** A token accepted by every test app unless a test sets API_TOKENS itself. */
export const TEST_TOKEN = 'test-token-0123456789abcdef';
export const AUTH = { authorization: `Bearer ${TEST_TOKEN}` };

export interface TestApp {
  app: NestFastifyApplication;
  config: Config;
  /** Every log line the app wrote, parsed. */
  logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Waits until `check` returns true, polling; fails after `timeoutMs`. */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 15000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
}

/** Starts the real application on `databaseUrl`, configured from `env` as a user would. */
export async function startTestApp(
  databaseUrl: string,
  env: Record<string, string> = {},
  options: AppOptions = {},
): Promise<TestApp> {
  const loaded = loadConfig({
    DATABASE_URL: databaseUrl,
    API_TOKENS: TEST_TOKEN,
    LOG_LEVEL: 'debug',
    PORT: '0',
    ...env,
  });
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
  const logs: Array<Record<string, unknown>> = [];
  const sink = new PassThrough();
  sink.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n'))
      if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
  });
  const app = await createApp(loaded.config, createLogger(loaded.config.logLevel, { destination: sink }), options);
  await app.getHttpAdapter().getInstance().ready();
  return { app, config: loaded.config, logs, close: () => app.close() };
}
