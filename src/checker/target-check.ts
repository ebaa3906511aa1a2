import type { BodyMatch, TargetKind } from '../targets/target';
import { ExpositionParseError, parseExposition, SampleLimitError } from '../metrics/exposition';
import { ProbeError, type CheckResult } from './check-result';
import type { HttpProbe } from './http-probe';
import { inSpan } from '../observability/tracing';

/** A target as the checker sees it: everything needed to run one check. */
export interface CheckTarget {
  id: string;
  name: string;
  kind: TargetKind;
  url: string;
  intervalMs: number;
  timeoutMs: number;
  labels: Record<string, string>;
  method: 'GET' | 'HEAD' | 'POST';
  expectedStatus: number[] | null;
  bodyMatch: BodyMatch | null;
  headers: Record<string, string>;
  sampleLimit: number;
  version: string;
}

/** One sample of a scrape, with the target's labels attached. */
export interface ScrapedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
  timestampMs: number;
}

export interface CheckOutcome {
  result: CheckResult;
  /** Prometheus targets: the scraped samples and the synthetic `up`, `scrape_duration_seconds`, `scrape_samples_scraped`. */
  samples: ScrapedSample[];
}

// Prometheus's own Accept header: OpenMetrics preferred, the 0.0.4 text format accepted.
const SCRAPE_ACCEPT =
  'application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2';

export interface TargetCheckOptions {
  /** Largest body a scrape or a body condition reads. */
  maxBodyBytes: number;
}

/** The labels every series of a target carries: `job`, `instance` and the target's own. */
export function targetLabels(target: CheckTarget): Record<string, string> {
  return { job: target.name, instance: new URL(target.url).host, ...target.labels };
}

/**
 * Attaches the target's labels to scraped ones as Prometheus does with `honor_labels: false`: a scraped label
 * that clashes with a target label is kept as `exported_<name>`.
 */
export function attachLabels(scraped: Record<string, string>, target: Record<string, string>): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const name in scraped) {
    let value = scraped[name];
    // PostgreSQL's jsonb cannot hold NUL; the exposition format allows it in label values.
    if (value.includes('\u0000')) value = value.replaceAll('\u0000', '\uFFFD');
    if (name in target) {
      let exported = `exported_${name}`;
      while (exported in scraped || exported in target) exported = `exported_${exported}`;
      labels[exported] = value;
    } else {
      labels[name] = value;
    }
  }
  return Object.assign(labels, target);
}

const regexCache = new Map<string, RegExp>();
function compiled(pattern: string): RegExp {
  let regex = regexCache.get(pattern);
  if (!regex) {
    if (regexCache.size > 10_000) regexCache.clear();
    regex = new RegExp(pattern);
    regexCache.set(pattern, regex);
  }
  return regex;
}

/** Runs one check of one target, an HTTP check or a Prometheus scrape, in a `checker.check` span. Never throws. */
export function checkTarget(probe: HttpProbe, target: CheckTarget, options: TargetCheckOptions): Promise<CheckOutcome> {
  return inSpan('checker.check', async (span) => {
    span.setAttributes({ 'vitals.target.name': target.name, 'vitals.target.kind': target.kind });
    const outcome = await runCheck(probe, target, options);
    span.setAttribute('vitals.check.up', outcome.result.up);
    if (outcome.result.errorKind) span.setAttribute('vitals.check.error_kind', outcome.result.errorKind);
    return outcome;
  });
}

async function runCheck(probe: HttpProbe, target: CheckTarget, options: TargetCheckOptions): Promise<CheckOutcome> {
  const startedAt = Date.now();
  const started = performance.now();
  // A cleared timer, not AbortSignal.timeout: that one always fires and allocates, even for a 2ms check.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), target.timeoutMs);
  const signal = controller.signal;
  const scrape = target.kind === 'prometheus';
  const result: CheckResult = { targetId: target.id, startedAt, durationMs: 0, up: false };
  let scraped: ScrapedSample[] = [];
  let scrapedCount = 0;
  try {
    const headers = scrape
      ? {
          accept: SCRAPE_ACCEPT,
          'accept-encoding': 'gzip',
          'x-prometheus-scrape-timeout-seconds': String(target.timeoutMs / 1000),
          ...target.headers,
        }
      : target.headers;
    const request = {
      url: target.url,
      method: scrape ? ('GET' as const) : target.method,
      headers,
      timeoutMs: target.timeoutMs,
      readBody: scrape || target.bodyMatch !== null,
      maxBodyBytes: options.maxBodyBytes,
    };
    const response = scrape
      ? await inSpan('scrape.fetch', () => probe.fetch(request, signal))
      : await probe.fetch(request, signal);
    result.httpStatus = response.status;
    const expected = target.expectedStatus;
    const statusOk = expected ? expected.includes(response.status) : response.status >= 200 && response.status < 300;
    if (!statusOk)
      throw new ProbeError('status', `status ${response.status} is not ${expected ? expected.join(', ') : '2xx'}`);
    const body = response.body ?? '';
    if (target.bodyMatch) {
      const matched =
        'contains' in target.bodyMatch
          ? body.includes(target.bodyMatch.contains)
          : compiled(target.bodyMatch.regex).test(body);
      if (!matched) {
        const condition =
          'contains' in target.bodyMatch
            ? `contain ${JSON.stringify(target.bodyMatch.contains)}`
            : `match /${target.bodyMatch.regex}/`;
        throw new ProbeError('body', `the body does not ${condition}`);
      }
    }
    if (scrape) {
      const contentType = String(response.headers['content-type'] ?? '');
      const parsed = await inSpan('scrape.parse', async (span) => {
        const result = parseExposition(body, {
          openMetrics: contentType.startsWith('application/openmetrics-text'),
          sampleLimit: target.sampleLimit,
        });
        span.setAttribute('vitals.scrape.samples', result.samples.length);
        return result;
      });
      const labels = targetLabels(target);
      scrapedCount = parsed.samples.length;
      scraped = parsed.samples.map((sample) => ({
        name: sample.name,
        labels: attachLabels(sample.labels, labels),
        value: sample.value,
        timestampMs: sample.timestampMs ?? startedAt,
      }));
    }
    result.up = true;
  } catch (error) {
    const failure =
      error instanceof ProbeError
        ? error
        : error instanceof ExpositionParseError
          ? new ProbeError('parse', error.message)
          : error instanceof SampleLimitError
            ? new ProbeError('too_large', `${error.message} (sampleLimit)`)
            : signal.aborted
              ? new ProbeError('timeout', `no answer within ${target.timeoutMs}ms`)
              : new ProbeError('internal', error instanceof Error ? error.message : String(error));
    result.errorKind = failure.kind;
    result.error =
      failure.kind === 'timeout' ? `no answer within ${target.timeoutMs}ms` : failure.message.slice(0, 1000);
    scraped = [];
    scrapedCount = 0;
  }
  clearTimeout(timer);
  result.durationMs = performance.now() - started;
  if (!scrape) return { result, samples: [] };
  const labels = targetLabels(target);
  // The synthetic series Prometheus writes for every scrape, failed ones included.
  scraped.push(
    { name: 'up', labels, value: result.up ? 1 : 0, timestampMs: startedAt },
    { name: 'scrape_duration_seconds', labels, value: result.durationMs / 1000, timestampMs: startedAt },
    { name: 'scrape_samples_scraped', labels, value: scrapedCount, timestampMs: startedAt },
  );
  return { result, samples: scraped };
}
