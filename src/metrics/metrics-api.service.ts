import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Config } from '../config/config';
import { decodeCursor, encodeCursor } from '../common/cursor';
import { resolveRange } from '../common/time-range';
import type { components } from '../generated/openapi';
import { ProblemException } from '../problem/problem';
import { SeriesRepository, type SeriesRow } from './series.repository';

export type Series = components['schemas']['Series'];
export type SeriesPage = components['schemas']['SeriesPage'];
export type SampleResult = components['schemas']['SampleResult'];

/** Most samples one request may return; a wider request is asked to narrow its range or matchers. */
export const MAX_SAMPLES_PER_REQUEST = 200_000;

export interface SeriesQuery {
  targetId?: string;
  name?: string;
  match?: Record<string, string>;
  limit?: number;
  cursor?: string;
}

function toSeries(row: SeriesRow): Series {
  return { id: row.id, targetId: row.target_id, name: row.name, labels: row.labels };
}

/** PostgreSQL spells infinities `Infinity`; the API uses Prometheus's `+Inf` and `-Inf`. */
function formatValue(text: string): string {
  if (text === 'Infinity') return '+Inf';
  if (text === '-Infinity') return '-Inf';
  return text;
}

@Injectable()
export class MetricsApiService {
  constructor(
    private readonly series: SeriesRepository,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async listSeries(query: SeriesQuery): Promise<SeriesPage> {
    const limit = query.limit ?? 100;
    const rows = await this.series.list({
      targetId: query.targetId,
      name: query.name,
      match: query.match,
      afterId: query.cursor === undefined ? undefined : (decodeCursor(query.cursor, ['string'])[0] as string),
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    return {
      items: page.map(toSeries),
      nextCursor: rows.length > limit ? encodeCursor([page[page.length - 1].id]) : null,
    };
  }

  async listMetricNames(query: { targetId?: string; prefix?: string; limit?: number }): Promise<{ items: string[] }> {
    return { items: await this.series.names(query.targetId, query.prefix, query.limit ?? 1000) };
  }

  async getMetricSamples(query: SeriesQuery & { from?: string; to?: string }): Promise<SampleResult> {
    const { from, to } = resolveRange(query.from, query.to, this.config.maxQuerySpanMs);
    const series = await this.series.list({
      targetId: query.targetId,
      name: query.name,
      match: query.match,
      limit: query.limit ?? 100,
    });
    const rows =
      series.length === 0
        ? []
        : await this.series.samples(
            series.map((row) => row.id),
            from,
            to,
            MAX_SAMPLES_PER_REQUEST + 1,
          );
    if (rows.length > MAX_SAMPLES_PER_REQUEST) {
      throw ProblemException.of(
        'validation',
        `More than ${MAX_SAMPLES_PER_REQUEST} samples match; narrow the time range or the matchers.`,
        [{ path: 'query.from', message: 'selects too many samples with these matchers' }],
      );
    }
    const bySeries = new Map<string, Array<[string, string]>>(series.map((row) => [row.id, []]));
    for (const row of rows) bySeries.get(row.series_id)?.push([row.ts.toISOString(), formatValue(row.value)]);
    return {
      from: from.toISOString(),
      to: to.toISOString(),
      series: series.map((row) => ({ ...toSeries(row), samples: bySeries.get(row.id) ?? [] })),
    };
  }
}
