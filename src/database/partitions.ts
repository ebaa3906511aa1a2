/** Tables partitioned by day on a timestamptz column. */
export const PARTITIONED_TABLES = ['checks', 'samples'] as const;
export type PartitionedTable = (typeof PARTITIONED_TABLES)[number];

const DAY_MS = 86_400_000;

/** UTC day number (days since 1970-01-01) of `ms`. */
export const dayOf = (ms: number): number => Math.floor(ms / DAY_MS);

/** `samples_p20261123` for the day that starts at 2026-11-23T00:00Z. */
export function partitionName(table: PartitionedTable, day: number): string {
  return `${table}_p${new Date(day * DAY_MS).toISOString().slice(0, 10).replace(/-/g, '')}`;
}

type Query = (sql: string, parameters?: unknown[]) => Promise<unknown[]>;

/** Creates the day partitions `fromDay..toDay` (inclusive) of every partitioned table that are missing. */
export async function ensurePartitions(query: Query, fromDay: number, toDay: number): Promise<void> {
  for (const table of PARTITIONED_TABLES) {
    for (let day = fromDay; day <= toDay; day++) {
      const from = new Date(day * DAY_MS).toISOString();
      const to = new Date((day + 1) * DAY_MS).toISOString();
      // IF NOT EXISTS and a concurrent creator are both fine: the loser's statement errors and is ignored below.
      await query(
        `CREATE TABLE IF NOT EXISTS ${partitionName(table, day)} PARTITION OF ${table} FOR VALUES FROM ('${from}') TO ('${to}')`,
      ).catch((error: { code?: string }) => {
        if (error.code !== '42P07' && error.code !== '23505') throw error;
      });
    }
  }
}

/** Drops every day partition that ends at or before `beforeMs`; returns the names dropped. */
export async function dropPartitionsBefore(query: Query, beforeMs: number): Promise<string[]> {
  const rows = (await query(
    `SELECT child.relname AS name
       FROM pg_inherits
       JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
       JOIN pg_class child ON child.oid = pg_inherits.inhrelid
      WHERE parent.relname = ANY($1)`,
    [PARTITIONED_TABLES],
  )) as Array<{ name: string }>;
  const cutoffDay = dayOf(beforeMs);
  const dropped: string[] = [];
  for (const { name } of rows) {
    const match = /_p(\d{4})(\d{2})(\d{2})$/.exec(name);
    if (!match) continue;
    const day = dayOf(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
    if (day + 1 <= cutoffDay) {
      await query(`DROP TABLE IF EXISTS ${name}`);
      dropped.push(name);
    }
  }
  return dropped.sort();
}
