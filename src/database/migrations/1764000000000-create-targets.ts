import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateTargets1764000000000 implements MigrationInterface {
  name = 'CreateTargets1764000000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE targets (
        id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name            text COLLATE "C" NOT NULL,
        kind            text NOT NULL CHECK (kind IN ('http', 'prometheus')),
        url             text NOT NULL,
        interval_ms     integer NOT NULL CHECK (interval_ms >= 1000),
        timeout_ms      integer NOT NULL CHECK (timeout_ms > 0 AND timeout_ms <= interval_ms),
        labels          jsonb NOT NULL DEFAULT '{}',
        method          text NOT NULL DEFAULT 'GET',
        expected_status integer[],
        body_match      jsonb,
        headers         jsonb NOT NULL DEFAULT '{}',
        sample_limit    integer NOT NULL DEFAULT 0 CHECK (sample_limit >= 0),
        enabled         boolean NOT NULL DEFAULT true,
        origin          text NOT NULL DEFAULT 'api' CHECK (origin IN ('api', 'file')),
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT targets_name_key UNIQUE (name)
      )`);
    // Label filters are jsonb containment (labels @> '{"team":"core"}').
    await db.query(`CREATE INDEX targets_labels_idx ON targets USING gin (labels jsonb_path_ops)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE targets`);
  }
}
