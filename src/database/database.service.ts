import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { CONFIG, type Config } from '../config/config';
import { LOGGER, type Logger } from '../observability/logger';
import { createDataSource, migrate } from './data-source';
import { startEmbeddedDatabase, type EmbeddedDatabase } from './embedded';
import { isDatabaseUnavailable, unavailableProblem } from './unavailable';

interface Queryable {
  query(sql: string, parameters: unknown[]): Promise<{ rows: unknown[] }>;
}

const RETRY_MS = 2000;
const READY_PROBE_TIMEOUT_MS = 2000;

export type Readiness = { ready: true } | { ready: false; reason: string };

/**
 * The connection to PostgreSQL. Start-up does not wait for the database: until it is reachable and migrated,
 * queries fail with a 503 problem and a connection is retried in the background.
 */
@Injectable()
export class Database implements OnModuleInit, OnApplicationShutdown {
  private dataSource?: DataSource;
  private embedded?: EmbeddedDatabase;
  private retry?: NodeJS.Timeout;
  private closed = false;
  private lastError = 'not connected yet';
  private readonly connectedListeners: Array<() => void> = [];

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    let url = this.config.databaseUrl;
    if (!url) {
      this.embedded = await startEmbeddedDatabase(this.config.dataDir, this.config.embeddedDbPort, (line) =>
        this.logger.debug(line, { context: 'embedded-postgres' }),
      );
      url = this.embedded.url;
      this.logger.info('embedded PostgreSQL started', { dataDir: this.config.dataDir });
    }
    await this.connect(url);
  }

  /** Runs `listener` once the database is connected and migrated (at once if it already is). */
  onConnected(listener: () => void): void {
    if (this.dataSource) listener();
    else this.connectedListeners.push(listener);
  }

  private async connect(url: string): Promise<void> {
    if (this.closed) return;
    const dataSource = createDataSource(url, this.config.dbPoolSize);
    try {
      await dataSource.initialize();
      const applied = await migrate(dataSource);
      if (applied.length > 0) this.logger.info('migrations applied', { migrations: applied });
      this.dataSource = dataSource;
      this.logger.info('database connected');
      for (const listener of this.connectedListeners.splice(0)) listener();
    } catch (error) {
      await dataSource.destroy().catch(() => undefined);
      this.lastError = error instanceof Error ? error.message : String(error);
      this.logger.warn('database not reachable; retrying', { error: this.lastError, retryInMs: RETRY_MS });
      this.retry = setTimeout(() => void this.connect(url), RETRY_MS);
    }
  }

  /**
   * A parameterised query returning its rows (RETURNING rows for writes); a 503 problem when the database
   * cannot be reached. It runs on node-postgres directly, on the pool or on the transaction's connection:
   * TypeORM's per-query runner allocates enough to push V8 into full garbage collections under load.
   */
  async query<T>(sql: string, parameters: unknown[] = [], manager?: EntityManager): Promise<T[]> {
    const client = manager
      ? (manager.queryRunner as unknown as { databaseConnection: Queryable }).databaseConnection
      : this.pool();
    try {
      return (await client.query(sql, parameters)).rows as T[];
    } catch (error) {
      throw isDatabaseUnavailable(error) ? unavailableProblem() : error;
    }
  }

  private pool(): Queryable {
    return (this.source().driver as unknown as { master: Queryable }).master;
  }

  /** Runs `work` in one transaction. */
  async transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    try {
      return await this.source().transaction(work);
    } catch (error) {
      throw isDatabaseUnavailable(error) ? unavailableProblem() : error;
    }
  }

  async readiness(): Promise<Readiness> {
    if (!this.dataSource) return { ready: false, reason: `database not connected: ${this.lastError}` };
    try {
      await Promise.race([
        this.dataSource.query('SELECT 1'),
        new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), READY_PROBE_TIMEOUT_MS).unref()),
      ]);
      return { ready: true };
    } catch (error) {
      return { ready: false, reason: `database not reachable: ${error instanceof Error ? error.message : error}` };
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    await this.dataSource?.destroy().catch(() => undefined);
    await this.embedded?.stop().catch(() => undefined);
  }

  private source(): DataSource {
    if (!this.dataSource) throw unavailableProblem();
    return this.dataSource;
  }
}
