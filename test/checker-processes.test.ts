import { existsSync } from 'node:fs';
import { Client } from 'pg';
import { createTestDatabase, type TestDatabase } from './support/database';
import { eventually } from './support/app';
import { MAIN, startVitals, type RunningVitals } from './support/process';
import { TargetServer } from './support/target-server';

let db: TestDatabase;
let sql: Client;
const targets = new TargetServer();
const running: RunningVitals[] = [];

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error('dist/main.js is missing: `npm test` builds it first (npm run build)');
  db = await createTestDatabase('checker_processes');
  await targets.start();
  sql = new Client({ connectionString: db.url });
  await sql.connect();
});

afterAll(async () => {
  for (const process of running) process.child.kill('SIGKILL');
  await sql?.end();
  await targets.stop();
  await db?.drop();
});

async function start(env: Record<string, string>): Promise<RunningVitals> {
  const vitals = await startVitals({ DATABASE_URL: db.url, LOG_LEVEL: 'warn', ...env });
  running.push(vitals);
  return vitals;
}

/** Inserts `count` HTTP targets named `<prefix>-<n>` straight into the database. */
async function seed(prefix: string, count: number, intervalMs: number, path = prefix): Promise<void> {
  await sql.query(
    `INSERT INTO targets (name, kind, url, interval_ms, timeout_ms)
     SELECT $1 || '-' || n, 'http', $2 || '/' || $3 || '/' || n, $4, least($4, 2000) FROM generate_series(1, $5) AS n`,
    [prefix, targets.base, path, intervalMs, count],
  );
}

const owners = async () =>
  Object.fromEntries(
    (
      await sql.query<{ checker_id: string; n: number }>(
        `SELECT checker_id, count(*)::int AS n FROM target_owners GROUP BY 1`,
      )
    ).rows.map((row) => [row.checker_id, row.n]),
  );

describe('two checker processes on one database', () => {
  it('share 100 targets without checking any twice, and the survivor takes over when one dies', async () => {
    const vitalsA = await start({ ROLE: 'checker', CHECKER_ID: 'checker-a', CHECKER_LEASE_TTL: '3s' });
    // Migrations run at start; the targets table exists once the first process is ready.
    await seed('shared', 100, 5000);
    await start({ ROLE: 'checker', CHECKER_ID: 'checker-b', CHECKER_LEASE_TTL: '3s' });
    await eventually(
      async () => {
        const split = await owners();
        return split['checker-a'] === 50 && split['checker-b'] === 50;
      },
      20000,
      'an even split',
    );

    // The API is not served by checker processes.
    expect((await fetch(`${vitalsA.base}/api/v1/targets`)).status).toBe(404);
    expect((await fetch(`${vitalsA.base}/metrics`)).status).toBe(200);

    const measuredFrom = new Date();
    await new Promise((resolve) => setTimeout(resolve, 11_000));
    const { rows } = await sql.query<{ target_id: string; starts: Date[] }>(
      `SELECT target_id, array_agg(started_at ORDER BY started_at) AS starts FROM checks WHERE started_at >= $1 GROUP BY 1`,
      [measuredFrom],
    );
    expect(rows).toHaveLength(100);
    for (const row of rows) {
      expect(row.starts.length).toBeGreaterThanOrEqual(2);
      // One check per 5s slot: two checks of one target closer than half an interval would be a duplicate.
      for (let i = 1; i < row.starts.length; i++)
        expect(row.starts[i].getTime() - row.starts[i - 1].getTime()).toBeGreaterThan(2500);
    }

    vitalsA.child.kill('SIGKILL');
    const killedAt = Date.now();
    await eventually(async () => (await owners())['checker-b'] === 100, 10_000, 'checker-b to own every target');
    // Within two intervals of the death every target has been checked again.
    await eventually(
      async () =>
        Number(
          (
            await sql.query(`SELECT count(DISTINCT target_id) AS n FROM checks WHERE started_at > $1`, [
              new Date(killedAt),
            ])
          ).rows[0].n,
        ) === 100,
      10_000,
      'every target checked after the takeover',
    );
    expect(Date.now() - killedAt).toBeLessThan(10_000 + 2000);
  });
});

describe('SIGTERM while checks are in flight', () => {
  it('finishes them, writes every result, gives its targets back and exits 0', async () => {
    // Alone on the database: earlier processes stop first.
    for (const other of running.splice(0)) await other.stop();
    for (let n = 1; n <= 20; n++) targets.mode.set(`/slow/${n}`, { delayMs: 1500 });
    const vitals = await start({ CHECKER_ID: 'checker-term', CHECKER_LEASE_TTL: '3s' });
    await sql.query(`UPDATE targets SET enabled = false`);
    await seed('slow', 20, 2000);
    await eventually(
      () => [...targets.hits].filter(([path]) => path.startsWith('/slow/')).length === 20,
      20000,
      'every slow target hit',
    );
    // Checks take 1.5s of every 2s: stop while many are in flight.
    await new Promise((resolve) => setTimeout(resolve, 700));
    const code = await vitals.stop();
    expect(code).toBe(0);
    const hits = [...targets.hits].filter(([path]) => path.startsWith('/slow/')).reduce((sum, [, n]) => sum + n, 0);
    const stored = Number(
      (
        await sql.query(
          `SELECT count(*) AS n FROM checks c JOIN targets t ON t.id = c.target_id WHERE t.name LIKE 'slow-%'`,
        )
      ).rows[0].n,
    );
    expect(stored).toBe(hits);
    expect((await sql.query(`SELECT 1 FROM target_owners WHERE checker_id = 'checker-term'`)).rows).toEqual([]);
    expect((await sql.query(`SELECT 1 FROM checkers WHERE id = 'checker-term'`)).rows).toEqual([]);
  });
});
