import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Cron } from 'croner';
import { z } from 'zod';
import { formatDuration, parseDuration } from '../common/duration';
import { parseCidr } from '../security/cidr';

/** CIDRs that target URLs may never resolve into: link-local and cloud metadata addresses. */
export const DEFAULT_DENY_CIDRS = [
  '0.0.0.0/8',
  '169.254.0.0/16',
  '100.100.100.200/32',
  'fe80::/10',
  'fd00:ec2::254/128',
].join(',');

const BYTE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

function parseBytes(text: string): number | undefined {
  const match = /^(\d+)\s*(b|kb|mb|gb)?$/i.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * BYTE_UNITS[(match[2] ?? 'b').toLowerCase()];
}

const port = (fallback: number) =>
  z.coerce
    .number({ error: 'must be a port number' })
    .int('must be a whole number')
    .min(0, 'must be between 0 and 65535')
    .max(65535, 'must be between 0 and 65535')
    .default(fallback);

function isCron(text: string): boolean {
  try {
    new Cron(text, { paused: true }).stop();
    return true;
  } catch {
    return false;
  }
}

/** A size such as `512kb` or `10mb`, at least 1kb, as bytes. */
const size = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const bytes = parseBytes(text);
      if (bytes === undefined || bytes < 1024) {
        ctx.addIssue({ code: 'custom', message: `must be a size of at least 1kb, such as ${fallback}` });
        return z.NEVER;
      }
      return bytes;
    });

/** A duration such as `30d` or `15s`, at least `minMs`, as milliseconds. */
const duration = (fallback: string, minMs: number) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined || ms < minMs) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a duration of at least ${formatDuration(minMs)}, such as ${fallback}`,
        });
        return z.NEVER;
      }
      return ms;
    });

const list = z.string().transform((text) =>
  text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0),
);

const schema = z.object({
  PORT: port(8080),
  HOST: z
    .string()
    .default('127.0.0.1')
    .refine((host) => host === 'localhost' || isIP(host) !== 0, 'must be an IP address or localhost'),
  DATABASE_URL: z
    .string()
    .refine((url) => /^postgres(ql)?:\/\//.test(url), 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  EMBEDDED_DB_PORT: port(0),
  DB_POOL_SIZE: z.coerce.number().int().min(2, 'must be at least 2').max(200, 'must be at most 200').default(10),
  TARGETS_FILE: z.string().min(1).optional(),
  API_TOKENS: list
    .default([])
    .refine((tokens) => tokens.every((token) => token.length >= 16), 'each token must be at least 16 characters'),
  TARGET_DENY_CIDRS: list.default(DEFAULT_DENY_CIDRS.split(',')).superRefine((cidrs, ctx) => {
    for (const cidr of cidrs) {
      if (!parseCidr(cidr)) ctx.addIssue({ code: 'custom', message: `"${cidr}" is not a CIDR such as 10.0.0.0/8` });
    }
  }),
  BODY_LIMIT: size('1mb'),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
  ROLE: z.enum(['all', 'api', 'checker']).default('all'),
  LOG_FILE: z.string().min(1).optional(),
  YOUTRACK_URL: z
    .string()
    .refine((url) => /^https?:\/\/[^/\s]+/.test(url), 'must be an http(s) URL such as https://example.youtrack.cloud')
    .optional(),
  YOUTRACK_TOKEN: z.string().min(1).optional(),
  YOUTRACK_QUERY: z.string().default(''),
  YOUTRACK_FIELDS_FILE: z.string().min(1).optional(),
  YOUTRACK_MAX_RETRIES: z.coerce.number().int().min(0).max(20).default(5),
  YOUTRACK_RETRY_BASE: duration('500ms', 1),
  LEADTIME_SYNC_CRON: z
    .string()
    .default('0 23 * * 1-5')
    .refine((text) => text === 'off' || isCron(text), 'must be a cron expression such as "0 23 * * 1-5", or off'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .string()
    .refine((url) => /^https?:\/\/[^/\s]+/.test(url), 'must be an http(s) URL such as http://tempo:4317')
    .optional(),
  RETENTION: duration('30d', 86_400_000),
  MAX_QUERY_SPAN: duration('31d', 1000),
  CHECKER_ID: z.string().min(1).max(200).optional(),
  CHECKER_CONCURRENCY: z.coerce.number().int().min(1).max(100_000).default(1000),
  CHECKER_LEASE_TTL: duration('15s', 2000),
  CHECKER_BUFFER_CHECKS: z.coerce.number().int().min(10).default(200_000),
  CHECKER_BUFFER_SAMPLES: z.coerce.number().int().min(100).default(2_000_000),
  SCRAPE_BODY_LIMIT: size('10mb'),
});

export interface Config {
  port: number;
  host: string;
  /** True when HOST only accepts connections from this machine. */
  hostIsLoopback: boolean;
  databaseUrl?: string;
  dataDir: string;
  embeddedDbPort: number;
  dbPoolSize: number;
  targetsFile?: string;
  apiTokens: string[];
  targetDenyCidrs: string[];
  bodyLimit: number;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  /** `all` serves the API and runs checks; `api` only serves; `checker` only checks (and serves /health, /ready, /metrics). */
  role: 'all' | 'api' | 'checker';
  logFile?: string;
  youtrackUrl?: string;
  youtrackToken?: string;
  youtrackQuery: string;
  /** YAML mapping of custom field names (see docs/leadtime.md). */
  youtrackFieldsFile?: string;
  youtrackMaxRetries: number;
  youtrackRetryBaseMs: number;
  /** When scheduled imports run (UTC), or `off`. */
  leadtimeSyncCron: string;
  /** Where traces go (OTLP over gRPC); tracing is off without it. */
  otlpEndpoint?: string;
  retentionMs: number;
  /** Longest time range one query may span. */
  maxQuerySpanMs: number;
  checkerId?: string;
  checkerConcurrency: number;
  checkerLeaseTtlMs: number;
  checkerBufferChecks: number;
  checkerBufferSamples: number;
  scrapeBodyLimit: number;
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  return ipaddr.process(host).range() === 'loopback';
}

/** Reads the configuration from environment variables; every problem is one readable line. */
export function loadConfig(env: NodeJS.ProcessEnv): ConfigResult {
  // An empty variable means "not set", as in most shells' `VAR= command`.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      const secret = name === 'API_TOKENS' || name === 'DATABASE_URL' || name === 'YOUTRACK_TOKEN';
      const shown = secret ? '' : ` (got ${JSON.stringify(env[name])})`;
      return `${name}: ${issue.message}${shown}`;
    });
    return { ok: false, problems };
  }
  const c = parsed.data;
  return {
    ok: true,
    config: {
      port: c.PORT,
      host: c.HOST,
      hostIsLoopback: isLoopback(c.HOST),
      databaseUrl: c.DATABASE_URL,
      dataDir: c.DATA_DIR,
      embeddedDbPort: c.EMBEDDED_DB_PORT,
      dbPoolSize: c.DB_POOL_SIZE,
      targetsFile: c.TARGETS_FILE,
      apiTokens: c.API_TOKENS,
      targetDenyCidrs: c.TARGET_DENY_CIDRS,
      bodyLimit: c.BODY_LIMIT,
      logLevel: c.LOG_LEVEL,
      role: c.ROLE,
      logFile: c.LOG_FILE,
      youtrackUrl: c.YOUTRACK_URL,
      youtrackToken: c.YOUTRACK_TOKEN,
      youtrackQuery: c.YOUTRACK_QUERY,
      youtrackFieldsFile: c.YOUTRACK_FIELDS_FILE,
      youtrackMaxRetries: c.YOUTRACK_MAX_RETRIES,
      youtrackRetryBaseMs: c.YOUTRACK_RETRY_BASE,
      leadtimeSyncCron: c.LEADTIME_SYNC_CRON,
      otlpEndpoint: c.OTEL_EXPORTER_OTLP_ENDPOINT,
      retentionMs: c.RETENTION,
      maxQuerySpanMs: c.MAX_QUERY_SPAN,
      checkerId: c.CHECKER_ID,
      checkerConcurrency: c.CHECKER_CONCURRENCY,
      checkerLeaseTtlMs: c.CHECKER_LEASE_TTL,
      checkerBufferChecks: c.CHECKER_BUFFER_CHECKS,
      checkerBufferSamples: c.CHECKER_BUFFER_SAMPLES,
      scrapeBodyLimit: c.SCRAPE_BODY_LIMIT,
    },
  };
}

/** The configuration, or, when any value is bad, one line per problem on stderr and exit code 2. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv): Config {
  const loaded = loadConfig(env);
  if (loaded.ok) return loaded.config;
  for (const line of loaded.problems) process.stderr.write(`vitals: configuration: ${line}\n`);
  process.exit(2);
}

/** Nest injection token for the validated Config. */
export const CONFIG = Symbol('CONFIG');
