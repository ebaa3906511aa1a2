import type { EmbeddedDatabase } from '../../src/database/embedded';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { vitalsTestDatabase?: EmbeddedDatabase }).vitalsTestDatabase?.stop();
}
