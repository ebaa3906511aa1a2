import { loadConfigOrExit } from '../config/config';
import { createDataSource, migrate } from './data-source';
import { startEmbeddedDatabase, type EmbeddedDatabase } from './embedded';

/** `npm run migrate`: applies pending migrations to DATABASE_URL, or to the embedded database, and exits. */
async function main(): Promise<void> {
  const config = loadConfigOrExit(process.env);
  let embedded: EmbeddedDatabase | undefined;
  const url =
    config.databaseUrl ??
    (embedded = await startEmbeddedDatabase(config.dataDir, config.embeddedDbPort, () => undefined)).url;
  // Two connections: one holds the migration lock while the other migrates.
  const dataSource = createDataSource(url, 2);
  try {
    await dataSource.initialize();
    const applied = await migrate(dataSource);
    process.stdout.write(applied.length > 0 ? `applied: ${applied.join(', ')}\n` : 'the schema is up to date\n');
  } finally {
    await dataSource.destroy().catch(() => undefined);
    await embedded?.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`vitals: migration failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
