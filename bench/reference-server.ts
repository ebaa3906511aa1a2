/**
 * The baseline for `npm run bench:api`: bare Fastify + a `pg` Pool serving the two read routes of the targets API
 * with the very SQL Vitals runs and the same JSON (the row mapping is Vitals' own `toTarget`). Whatever Vitals is
 * slower by is what its framework layers cost: Nest, request validation, hooks, TypeORM.
 *
 * Run as a child process by bench/api.ts; env: DATABASE_URL, PORT, HOST (default 127.0.0.1), DB_POOL_SIZE (default
 * 10, Vitals' default).
 */
import Fastify from 'fastify';
import { Pool } from 'pg';
import { encodeCursor } from '../src/common/cursor';
import { toTarget, type TargetRow } from '../src/targets/target';

// Copied from src/targets/targets.repository.ts, whitespace included.
const COLUMNS = `id, name, kind, url, interval_ms, timeout_ms, labels, method, expected_status, body_match, headers,
  sample_limit, enabled, origin, created_at, updated_at`;
const BY_ID = `SELECT ${COLUMNS} FROM targets WHERE id = $1`;
// What TargetsRepository.list builds without filters: the empty WHERE clause leaves two spaces.
const FIRST_PAGE = `SELECT ${COLUMNS} FROM targets  ORDER BY name LIMIT $1`;

const DEFAULT_LIMIT = 100;

async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL;
  const port = Number(process.env.PORT);
  if (!databaseUrl || !Number.isInteger(port)) throw new Error('DATABASE_URL and PORT must be set');
  const pool = new Pool({ connectionString: databaseUrl, max: Number(process.env.DB_POOL_SIZE ?? 10) });
  const app = Fastify({ logger: false });

  app.get<{ Params: { id: string } }>('/api/v1/targets/:id', async (request, reply) => {
    const { rows } = await pool.query<TargetRow>(BY_ID, [request.params.id]);
    if (rows.length === 0) return reply.code(404).send({ status: 404 });
    return toTarget(rows[0]);
  });

  // Same paging rule as TargetsService.listTargets: fetch one row more to know whether there is a next page.
  app.get<{ Querystring: { limit?: string } }>('/api/v1/targets', async (request) => {
    const limit = request.query.limit === undefined ? DEFAULT_LIMIT : Number(request.query.limit);
    const { rows } = await pool.query<TargetRow>(FIRST_PAGE, [limit + 1]);
    const page = rows.slice(0, limit);
    return {
      items: page.map(toTarget),
      nextCursor: rows.length > limit ? encodeCursor([page[page.length - 1].name]) : null,
    };
  });

  app.get('/ready', async () => {
    await pool.query('SELECT 1');
    return { status: 'ready' };
  });

  const stop = async () => {
    await app.close();
    await pool.end();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());

  await app.listen({ port, host: process.env.HOST ?? '127.0.0.1' });
}

main().catch((error: unknown) => {
  process.stderr.write(
    `reference server: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
