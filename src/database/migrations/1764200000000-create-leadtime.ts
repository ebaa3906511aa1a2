import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Delivery data: issues with their lead times, sprints, sprint membership history, and import runs. */
export class CreateLeadtime1764200000000 implements MigrationInterface {
  name = 'CreateLeadtime1764200000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE leadtime_issues (
        source            text NOT NULL,
        key               text NOT NULL,
        summary           text NOT NULL DEFAULT '',
        team              text,
        type              text,
        state             text,
        sprints           text[] NOT NULL DEFAULT '{}',
        story_points      double precision,
        created_at        timestamptz NOT NULL,
        started_at        timestamptz,
        resolved_at       timestamptz,
        updated_at        timestamptz NOT NULL,
        lead_time_seconds double precision CHECK (lead_time_seconds >= 0),
        lead_time_rule    text CHECK (lead_time_rule IN ('field', 'started', 'created')),
        PRIMARY KEY (source, key)
      )`);
    // Stats read resolved issues by resolution time, filtered by team, type and sprint.
    await db.query(`CREATE INDEX leadtime_issues_resolved_idx ON leadtime_issues (resolved_at) INCLUDE (lead_time_seconds, team, type)
                      WHERE lead_time_seconds IS NOT NULL`);
    await db.query(
      `CREATE INDEX leadtime_issues_team_idx ON leadtime_issues (team, resolved_at) WHERE lead_time_seconds IS NOT NULL`,
    );
    await db.query(
      `CREATE INDEX leadtime_issues_type_idx ON leadtime_issues (type, resolved_at) WHERE lead_time_seconds IS NOT NULL`,
    );
    await db.query(`CREATE INDEX leadtime_issues_sprints_idx ON leadtime_issues USING gin (sprints)`);

    await db.query(`
      CREATE TABLE sprints (
        source   text NOT NULL,
        name     text NOT NULL,
        start_at timestamptz,
        end_at   timestamptz,
        PRIMARY KEY (source, name)
      )`);
    await db.query(`
      CREATE TABLE sprint_events (
        source    text NOT NULL,
        issue_key text NOT NULL,
        sprint    text NOT NULL,
        added     boolean NOT NULL,
        at        timestamptz NOT NULL,
        PRIMARY KEY (source, issue_key, sprint, at, added)
      )`);
    await db.query(`CREATE INDEX sprint_events_sprint_idx ON sprint_events (sprint, at)`);

    await db.query(`
      CREATE TABLE sync_runs (
        id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        source      text NOT NULL,
        status      text NOT NULL CHECK (status IN ('running', 'ok', 'nok')),
        trigger     text NOT NULL CHECK (trigger IN ('api', 'schedule')),
        incremental boolean NOT NULL,
        since       timestamptz,
        started_at  timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        fetched     integer NOT NULL DEFAULT 0,
        upserted    integer NOT NULL DEFAULT 0,
        error       text
      )`);
    // At most one running import per source: a second start fails on this index (409).
    await db.query(`CREATE UNIQUE INDEX sync_runs_one_running_idx ON sync_runs (source) WHERE status = 'running'`);
    await db.query(`CREATE INDEX sync_runs_source_started_idx ON sync_runs (source, started_at DESC)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE sync_runs`);
    await db.query(`DROP TABLE sprint_events`);
    await db.query(`DROP TABLE sprints`);
    await db.query(`DROP TABLE leadtime_issues`);
  }
}
