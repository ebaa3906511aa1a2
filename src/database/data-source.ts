import { DataSource } from 'typeorm';
import { CreateTargets1764000000000 } from './migrations/1764000000000-create-targets';
import { CreateChecksAndSamples1764100000000 } from './migrations/1764100000000-create-checks-and-samples';
import { CreateLeadtime1764200000000 } from './migrations/1764200000000-create-leadtime';

/** Every migration, oldest first. The schema changes only through these. */
export const MIGRATIONS = [
  CreateTargets1764000000000,
  CreateChecksAndSamples1764100000000,
  CreateLeadtime1764200000000,
];

export function createDataSource(url: string, poolSize: number): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    synchronize: false,
    logging: false,
    extra: {
      max: poolSize,
      application_name: 'vitals',
      // Fail fast while the server is away so callers get a 503 instead of a hung request.
      connectionTimeoutMillis: 3000,
      statement_timeout: 30000,
      idleTimeoutMillis: 30000,
    },
  });
}

/**
 * Runs pending migrations under an advisory lock, so several Vitals processes can start at once. The lock is held
 * on a connection of its own, so the pool needs at least two.
 */
export async function migrate(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query(`SELECT pg_advisory_lock(hashtext('vitals.migrations'))`);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((migration) => migration.name);
  } finally {
    await runner.query(`SELECT pg_advisory_unlock(hashtext('vitals.migrations'))`).catch(() => undefined);
    await runner.release();
  }
}
