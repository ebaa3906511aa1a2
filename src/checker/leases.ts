import type { Database } from '../database/database.service';

/**
 * Which checker process runs which target. Each process keeps a row in `checkers` alive (its heartbeat; it
 * expires after the lease TTL) and owns targets through `target_owners`. A process takes unowned targets, or
 * those of a checker whose heartbeat expired, up to its fair share (enabled targets ÷ live checkers), and gives
 * back what is above its share so a newcomer finds work. Targets are taken with `FOR UPDATE SKIP LOCKED`, so
 * two processes never take the same one.
 */
export class Leases {
  constructor(
    private readonly db: Database,
    readonly checkerId: string,
    private readonly ttlMs: number,
  ) {}

  /** Renews this process's heartbeat. */
  async heartbeat(): Promise<void> {
    await this.db.query(
      `INSERT INTO checkers (id, expires_at) VALUES ($1, now() + $2 * interval '1 millisecond')
       ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at`,
      [this.checkerId, this.ttlMs],
    );
  }

  /**
   * Moves this process toward its fair share; returns how many targets it took and gave back. `beforeRelease`
   * runs before targets are given back, so this process stops checking them before anyone else can start.
   */
  async rebalance(beforeRelease: (targetIds: string[]) => void): Promise<{ taken: number; released: number }> {
    const [{ live, enabled, mine }] = await this.db.query<{ live: number; enabled: number; mine: number }>(
      `SELECT (SELECT count(*) FROM checkers WHERE expires_at > now())::int AS live,
              (SELECT count(*) FROM targets WHERE enabled)::int AS enabled,
              (SELECT count(*) FROM target_owners o JOIN targets t ON t.id = o.target_id
                WHERE o.checker_id = $1 AND t.enabled)::int AS mine`,
      [this.checkerId],
    );
    const share = Math.ceil(enabled / Math.max(live, 1));
    if (mine > share) {
      const surplus = await this.db.query<{ target_id: string }>(
        `SELECT target_id FROM target_owners WHERE checker_id = $1 ORDER BY target_id DESC LIMIT $2`,
        [this.checkerId, mine - share],
      );
      const ids = surplus.map((row) => row.target_id);
      beforeRelease(ids);
      await this.db.query(`DELETE FROM target_owners WHERE checker_id = $1 AND target_id = ANY($2::uuid[])`, [
        this.checkerId,
        ids,
      ]);
      return { taken: 0, released: ids.length };
    }
    if (mine === share) return { taken: 0, released: 0 };
    const taken = await this.db.query<{ target_id: string }>(
      `WITH free AS (
         SELECT t.id
           FROM targets t
           LEFT JOIN target_owners o ON o.target_id = t.id
           LEFT JOIN checkers c ON c.id = o.checker_id AND c.expires_at > now()
          WHERE t.enabled AND c.id IS NULL AND (o.checker_id IS DISTINCT FROM $1)
          ORDER BY t.id
          LIMIT $2
          FOR UPDATE OF t SKIP LOCKED
       )
       INSERT INTO target_owners (target_id, checker_id) SELECT id, $1 FROM free
       ON CONFLICT (target_id) DO UPDATE SET checker_id = EXCLUDED.checker_id
       RETURNING target_id`,
      [this.checkerId, share - mine],
    );
    return { taken: taken.length, released: 0 };
  }

  /** A fingerprint of the targets table that changes with every insert, update and delete. */
  async targetsVersion(): Promise<string> {
    const [row] = await this.db.query<{ version: string }>(
      `SELECT count(*) || '/' || coalesce(max(updated_at)::text, '') AS version FROM targets`,
    );
    return row.version;
  }

  /** Gives every target back and removes the heartbeat, so others take over at once. */
  async release(): Promise<void> {
    await this.db.query(`DELETE FROM target_owners WHERE checker_id = $1`, [this.checkerId]);
    await this.db.query(`DELETE FROM checkers WHERE id = $1`, [this.checkerId]);
  }
}
