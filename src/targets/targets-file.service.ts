import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { ValidateFunction } from 'ajv';
import { parseDocument } from 'yaml';
import { CONFIG, type Config } from '../config/config';
import { Database } from '../database/database.service';
import { isDatabaseUnavailable } from '../database/unavailable';
import { LOGGER, type Logger } from '../observability/logger';
import { anchored, createAjv } from '../openapi/schema-compiler';
import { loadSpec } from '../openapi/spec';
import type { TargetCreate, TargetValues } from './target';
import { resolveTarget } from './target-rules';
import { TargetsRepository } from './targets.repository';
import { TargetsService } from './targets.service';

const DEBOUNCE_MS = 200;
const RETRY_MS = 5000;

export type FileLoadResult =
  | { ok: true; created: number; updated: number; removed: number; unchanged: number }
  | { ok: false; problems: string[] };

/**
 * Targets as code: TARGETS_FILE (YAML, `targets: [...]`) is applied at start and whenever it changes. Targets
 * are upserted by name and file targets no longer in the file are removed, all in one transaction. A file
 * with any problem changes nothing; every problem is logged.
 */
@Injectable()
export class TargetsFileService implements OnApplicationBootstrap, OnApplicationShutdown {
  private watcher?: FSWatcher;
  private debounce?: NodeJS.Timeout;
  private running: Promise<FileLoadResult> | undefined;
  private readonly validate: ValidateFunction<TargetCreate>;
  private readonly path?: string;

  constructor(
    @Inject(CONFIG) config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly db: Database,
    private readonly targets: TargetsRepository,
    private readonly service: TargetsService,
  ) {
    this.path = config.targetsFile ? resolve(config.targetsFile) : undefined;
    const { document } = loadSpec();
    this.validate = createAjv(document, { coerce: false }).compile<TargetCreate>(
      anchored({ $ref: '#/components/schemas/TargetCreate' }),
    );
  }

  onApplicationBootstrap(): void {
    const path = this.path;
    if (!path) return;
    this.db.onConnected(() => void this.reload());
    // Watch the folder, not the file: editors and config tools replace the file rather than write into it.
    this.watcher = watch(dirname(path), (_event, name) => {
      if (name !== null && name !== basename(path)) return;
      clearTimeout(this.debounce);
      this.debounce = setTimeout(() => void this.reload(), DEBOUNCE_MS);
    });
    this.watcher.on('error', (error) => this.logger.error('TARGETS_FILE watch failed', { error: error.message }));
  }

  onApplicationShutdown(): void {
    clearTimeout(this.debounce);
    this.watcher?.close();
  }

  /** Applies the file now; concurrent calls wait for the running one and then apply again. */
  async reload(): Promise<FileLoadResult> {
    const previous = this.running;
    const next = (async () => {
      await previous?.catch(() => undefined);
      return this.apply();
    })();
    this.running = next;
    return next;
  }

  private async apply(): Promise<FileLoadResult> {
    const path = this.path as string;
    let result: FileLoadResult;
    try {
      const parsed = await this.read(path);
      result = 'problems' in parsed ? { ok: false, problems: parsed.problems } : await this.store(parsed.targets);
    } catch (error) {
      if (isDatabaseUnavailable(error) || (error as { problem?: { status?: number } }).problem?.status === 503) {
        this.logger.warn('TARGETS_FILE not applied: the database is unreachable; retrying', { file: path });
        setTimeout(() => void this.reload(), RETRY_MS).unref();
      }
      result = { ok: false, problems: [error instanceof Error ? error.message : String(error)] };
    }
    if (result.ok) {
      this.logger.info('TARGETS_FILE applied', { file: path, ...result });
    } else {
      this.logger.error(`TARGETS_FILE is invalid; nothing was changed: ${result.problems.join('; ')}`, {
        file: path,
        problems: result.problems,
      });
    }
    return result;
  }

  private async read(path: string): Promise<{ targets: Map<string, TargetValues> } | { problems: string[] }> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      return { problems: [`cannot read the file: ${(error as Error).message}`] };
    }
    const document = parseDocument(text, { prettyErrors: true });
    if (document.errors.length > 0) return { problems: document.errors.map((error) => `YAML: ${error.message}`) };
    const root = document.toJS() as unknown;
    const entries = (root as { targets?: unknown } | null)?.targets ?? (root === null ? [] : undefined);
    if (!Array.isArray(entries)) return { problems: ['the file must hold `targets:` followed by a list of targets'] };

    const problems: string[] = [];
    const targets = new Map<string, TargetValues>();
    for (const [index, entry] of entries.entries()) {
      const location = `targets[${index}]`;
      if (!this.validate(entry)) {
        for (const error of this.validate.errors ?? []) {
          const field = error.instancePath.replace(/^\//, '').replace(/\//g, '.');
          const extra = (error.params as { missingProperty?: string; additionalProperty?: string }) ?? {};
          const name = extra.missingProperty ?? extra.additionalProperty;
          problems.push(`${location}${field ? `.${field}` : ''}${name ? `.${name}` : ''}: ${error.message}`);
        }
        continue;
      }
      const resolved = await resolveTarget(entry, undefined, this.service.ruleContext(location));
      if (resolved.errors) {
        problems.push(...resolved.errors.map((error) => `${error.path}: ${error.message}`));
      } else if (targets.has(entry.name)) {
        problems.push(`${location}.name: "${entry.name}" appears more than once`);
      } else {
        targets.set(entry.name, resolved.values);
      }
    }
    return problems.length > 0 ? { problems } : { targets };
  }

  private async store(wanted: Map<string, TargetValues>): Promise<FileLoadResult> {
    return this.db.transaction(async (manager) => {
      const counts = { created: 0, updated: 0, removed: 0, unchanged: 0 };
      // One writer of file targets at a time, even across Vitals processes sharing the database.
      await manager.query(`SELECT pg_advisory_xact_lock(hashtext('vitals.targets-file'))`);
      for (const [name, values] of wanted) {
        const stored = await this.targets.getByName(name, manager);
        if (!stored) {
          await this.targets.create(values, 'file', manager);
          counts.created++;
        } else if (stored.origin === 'file' && isDeepStrictEqual(pick(stored), values)) {
          counts.unchanged++;
        } else {
          if (stored.origin === 'api')
            this.logger.warn('TARGETS_FILE takes over a target created through the API', { name });
          await this.targets.update(stored.id, values, 'file', manager);
          counts.updated++;
        }
      }
      for (const stored of await this.targets.listByOrigin('file', manager)) {
        if (!wanted.has(stored.name)) {
          await this.targets.delete(stored.id, manager);
          counts.removed++;
        }
      }
      return { ok: true as const, ...counts };
    });
  }
}

function pick(row: TargetValues): TargetValues {
  return {
    name: row.name,
    kind: row.kind,
    url: row.url,
    interval_ms: row.interval_ms,
    timeout_ms: row.timeout_ms,
    labels: row.labels,
    method: row.method,
    expected_status: row.expected_status,
    body_match: row.body_match,
    headers: row.headers,
    sample_limit: row.sample_limit,
    enabled: row.enabled,
  };
}
