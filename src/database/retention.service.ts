import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { CONFIG, type Config } from '../config/config';
import { LOGGER, type Logger } from '../observability/logger';
import { Database } from './database.service';
import { dayOf, dropPartitionsBefore, ensurePartitions } from './partitions';

const EVERY_MS = 3_600_000;

/**
 * Keeps the day partitions of `checks` and `samples` ahead of time (yesterday to the day after tomorrow) and
 * drops whole partitions once they are older than RETENTION. Runs at start and every hour.
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly db: Database,
  ) {}

  onApplicationBootstrap(): void {
    this.db.onConnected(() => void this.run());
  }

  onApplicationShutdown(): void {
    clearTimeout(this.timer);
  }

  async run(now = Date.now()): Promise<string[]> {
    const query = (sql: string, parameters?: unknown[]) => this.db.query(sql, parameters);
    try {
      const today = dayOf(now);
      await ensurePartitions(query, today - 1, today + 2);
      const dropped = await dropPartitionsBefore(query, now - this.config.retentionMs);
      if (dropped.length > 0) this.logger.info('retention dropped partitions', { dropped });
      return dropped;
    } catch (error) {
      this.logger.warn('partition maintenance failed; retrying later', {
        error: error instanceof Error ? error.message : String(error),
      });
      return [];
    } finally {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.run(), EVERY_MS);
      this.timer.unref();
    }
  }
}
