import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../../src/database/embedded';

/**
 * Every suite gets its own database on one server: the PostgreSQL of DATABASE_URL when set (CI), otherwise an
 * embedded one started here, so `npm test` works on a machine with nothing but Node.js.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL) {
    process.env.VITALS_TEST_SERVER_URL = process.env.DATABASE_URL;
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'vitals-test-db-'));
  const embedded = await startEmbeddedDatabase(dir, 0, () => undefined);
  (globalThis as { vitalsTestDatabase?: EmbeddedDatabase }).vitalsTestDatabase = embedded;
  process.env.VITALS_TEST_SERVER_URL = embedded.url;
}
