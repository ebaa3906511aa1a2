import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Check results and scraped samples. Both are partitioned by day (partitions are created ahead of time and
 * dropped whole by retention, see database/partitions.ts); neither references `targets`, so deleting a target
 * keeps its history until retention removes it.
 */
export class CreateChecksAndSamples1764100000000 implements MigrationInterface {
  name = 'CreateChecksAndSamples1764100000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE checks (
        target_id   uuid NOT NULL,
        started_at  timestamptz NOT NULL,
        duration_ms double precision NOT NULL,
        up          boolean NOT NULL,
        http_status smallint,
        error_kind  text CHECK (error_kind IN ('timeout', 'dns', 'connect', 'tls', 'status', 'body', 'parse', 'too_large', 'internal')),
        error       text
      ) PARTITION BY RANGE (started_at)`);
    await db.query(`CREATE INDEX checks_target_started_idx ON checks (target_id, started_at)`);
    await db.query(`CREATE INDEX checks_started_idx ON checks (started_at)`);

    await db.query(`
      CREATE TABLE series (
        id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        target_id  uuid NOT NULL,
        name       text NOT NULL,
        labels     jsonb NOT NULL,
        -- Identity of a series within its target: the name and the sorted labels, hashed.
        hash       bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT series_target_hash_key UNIQUE (target_id, hash)
      )`);
    await db.query(`CREATE INDEX series_target_name_idx ON series (target_id, name)`);
    await db.query(`CREATE INDEX series_name_idx ON series (name)`);
    await db.query(`CREATE INDEX series_labels_idx ON series USING gin (labels jsonb_path_ops)`);

    await db.query(`
      CREATE TABLE samples (
        series_id bigint NOT NULL,
        ts        timestamptz NOT NULL,
        value     double precision NOT NULL
      ) PARTITION BY RANGE (ts)`);
    await db.query(`CREATE INDEX samples_series_ts_idx ON samples (series_id, ts)`);

    // Checker processes and which targets each one runs (see checker/leases.ts).
    await db.query(`
      CREATE TABLE checkers (
        id         text PRIMARY KEY,
        started_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL
      )`);
    await db.query(`
      CREATE TABLE target_owners (
        target_id  uuid PRIMARY KEY REFERENCES targets (id) ON DELETE CASCADE,
        checker_id text NOT NULL
      )`);
    await db.query(`CREATE INDEX target_owners_checker_idx ON target_owners (checker_id)`);
    // The checkers notice target changes through max(updated_at).
    await db.query(`CREATE INDEX targets_updated_at_idx ON targets (updated_at)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX targets_updated_at_idx`);
    await db.query(`DROP TABLE target_owners`);
    await db.query(`DROP TABLE checkers`);
    await db.query(`DROP TABLE samples`);
    await db.query(`DROP TABLE series`);
    await db.query(`DROP TABLE checks`);
  }
}
