import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, resolve } from 'node:path';
import { parse } from 'yaml';

/**
 * Reading the compose stack's files (docker-compose.yml, Grafana provisioning and dashboards, Prometheus, Loki,
 * Promtail and Tempo configuration) the way the containers will, for tests that check them without Docker.
 */

export const ROOT = resolve(__dirname, '..', '..');

export const repoPath = (...parts: string[]): string => join(ROOT, ...parts);

export function readText(relative: string): string {
  return readFileSync(repoPath(relative), 'utf8');
}

export function readYaml<T = any>(relative: string): T {
  return parse(readText(relative)) as T;
}

// ------------------------------------------------------------------------------------------------ compose

/** Variables compose would read from `.env`: the ones `.env.example` documents. */
export function envExample(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readText('.env.example').split('\n')) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) env[match[1]] = match[2];
  }
  return env;
}

export interface ComposeVariable {
  name: string;
  /** `${VAR:-default}` / `${VAR-default}` */
  fallback?: string;
  /** `${VAR:?message}` / `${VAR?message}`: compose refuses to start without it. */
  required: boolean;
}

/** YAML without its whole-line comments, which neither compose nor Grafana interpolates. */
export const withoutComments = (text: string): string =>
  text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n');

const COMPOSE_VARIABLE =
  /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*)|(:?\?)([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/** Every variable a compose file interpolates, as compose reads them (`$$` is a literal `$`). */
export function composeVariables(text: string): ComposeVariable[] {
  const found: ComposeVariable[] = [];
  for (const match of withoutComments(text).matchAll(COMPOSE_VARIABLE)) {
    if (match[0] === '$$') continue;
    const name = match[1] ?? match[6];
    found.push({ name, fallback: match[2] ? match[3] : undefined, required: match[4] !== undefined });
  }
  return found;
}

/** Compose's interpolation: values from `env`, else the `:-` default; unset required variables throw. */
export function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(COMPOSE_VARIABLE, (whole, braced, dash, fallback, question, message, bare) => {
    if (whole === '$$') return '$';
    const name = (braced ?? bare) as string;
    const value = env[name];
    const set = value !== undefined && (value !== '' || !(dash === ':-' || question === ':?'));
    if (set) return value;
    if (dash) return fallback as string;
    if (question) throw new Error(`${name} is required: ${message}`);
    return '';
  });
}

export interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  environment?: Record<string, string> | string[];
  ports?: Array<string | number | { target: number }>;
  expose?: Array<string | number>;
  volumes?: Array<string | { type?: string; source?: string; target: string; read_only?: boolean }>;
  healthcheck?: { test: string | string[]; disable?: boolean };
  depends_on?: string[] | Record<string, { condition?: string }>;
}

export interface Compose {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** docker-compose.yml with `.env.example`'s values interpolated, as `docker compose config` would show it. */
export function loadCompose(env: Record<string, string> = envExample()): Compose {
  return parse(interpolate(withoutComments(readText('docker-compose.yml')), env)) as Compose;
}

export function environmentOf(service: ComposeService): Record<string, string> {
  const environment = service.environment ?? {};
  if (!Array.isArray(environment)) {
    return Object.fromEntries(Object.entries(environment).map(([key, value]) => [key, String(value ?? '')]));
  }
  return Object.fromEntries(
    environment.map((entry) => {
      const at = entry.indexOf('=');
      return at < 0 ? [entry, ''] : [entry.slice(0, at), entry.slice(at + 1)];
    }),
  );
}

export function commandOf(service: ComposeService): string[] {
  const command = service.command ?? [];
  return Array.isArray(command) ? command.map(String) : command.split(/\s+/).filter(Boolean);
}

/** Ports a service listens on inside the compose network: container side of `ports`, and `expose`. */
export function containerPorts(service: ComposeService): number[] {
  const ports = new Set<number>();
  for (const entry of service.ports ?? []) {
    if (typeof entry === 'object') ports.add(Number(entry.target));
    else ports.add(Number(String(entry).split(':').pop()!.split('/')[0]));
  }
  for (const entry of service.expose ?? []) ports.add(Number(String(entry).split('/')[0]));
  return [...ports];
}

export interface Mount {
  type: 'bind' | 'volume';
  source: string;
  target: string;
  readOnly: boolean;
}

export function mountsOf(service: ComposeService): Mount[] {
  return (service.volumes ?? []).map((entry) => {
    if (typeof entry === 'object') {
      return {
        type: entry.type === 'bind' ? 'bind' : 'volume',
        source: entry.source ?? '',
        target: entry.target,
        readOnly: entry.read_only === true,
      };
    }
    const [source, target, mode = ''] = entry.split(':');
    const bind = /^[./~]/.test(source);
    return { type: bind ? 'bind' : 'volume', source, target, readOnly: mode.split(',').includes('ro') };
  });
}

export function dependsOn(service: ComposeService): Array<{ name: string; condition: string }> {
  const deps = service.depends_on ?? [];
  if (Array.isArray(deps)) return deps.map((name) => ({ name, condition: 'service_started' }));
  return Object.entries(deps).map(([name, options]) => ({ name, condition: options?.condition ?? 'service_started' }));
}

/**
 * The repository file or folder (relative, without `./`) a container path comes from through a bind mount of
 * `service`, if any.
 */
export function hostPathOf(service: ComposeService, containerPath: string): string | undefined {
  const binds = mountsOf(service)
    .filter((mount) => mount.type === 'bind')
    .sort((a, b) => b.target.length - a.target.length);
  for (const mount of binds) {
    if (containerPath === mount.target || containerPath.startsWith(`${mount.target}/`)) {
      return posix.normalize(posix.join(mount.source, containerPath.slice(mount.target.length)));
    }
  }
  return undefined;
}

/** The value of a `--flag=value` / `-flag=value` argument in a command. */
export function flagValue(command: string[], flag: string): string | undefined {
  for (let i = 0; i < command.length; i++) {
    const argument = command[i].replace(/^--?/, '');
    if (argument.startsWith(`${flag}=`)) return argument.slice(flag.length + 1);
    if (argument === flag) return command[i + 1];
  }
  return undefined;
}

/** `host:port` of an http(s) URL or a bare `host:port`. */
export function hostAndPort(address: string): { host: string; port: number } {
  const url = new URL(/^[a-z]+:\/\//i.test(address) ? address : `tcp://${address}`);
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  return { host: url.hostname, port };
}

// ------------------------------------------------------------------------------------------------ grafana

export interface Datasource {
  name: string;
  type: string;
  uid: string;
  url?: string;
  jsonData?: Record<string, any>;
  secureJsonData?: Record<string, string>;
  [key: string]: unknown;
}

export function datasources(): Datasource[] {
  return readYaml<{ datasources: Datasource[] }>('grafana/provisioning/datasources/datasources.yml').datasources;
}

/** Grafana expands `$VAR` and `${VAR}` from its environment in provisioning files; `$$` is a literal `$`. */
export function grafanaEnvReferences(text: string): string[] {
  const names: string[] = [];
  for (const match of withoutComments(text).matchAll(/\$\$|\$\{(\w+)\}|\$(\w+)/g))
    if (match[0] !== '$$') names.push(match[1] ?? match[2]);
  return names;
}

/** A provisioning value as Grafana sees it after expansion (`$$` is `$`; variables are left as they are). */
export const grafanaLiteral = (value: string): string => value.replace(/\$\$/g, '$');

/** The folder of dashboard JSON files, found through the dashboards provider and Grafana's bind mounts. */
export function dashboardsDir(compose: Compose = loadCompose()): string {
  const providers = readYaml<{ providers: Array<{ options?: { path?: string } }> }>(
    'grafana/provisioning/dashboards/dashboards.yml',
  ).providers;
  const path = providers[0]?.options?.path;
  if (!path) throw new Error('the dashboards provider has no options.path');
  const host = hostPathOf(compose.services.grafana, path);
  if (!host) throw new Error(`no bind mount of the grafana service holds ${path}`);
  return host;
}

export interface DashboardFile {
  file: string;
  text: string;
  json: any;
}

export function dashboardFiles(): DashboardFile[] {
  const dir = dashboardsDir();
  return readdirSync(repoPath(dir))
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => {
      const file = posix.join(dir, name);
      const text = readText(file);
      return { file, text, json: JSON.parse(text) };
    });
}

/** Every panel, including those inside collapsed rows. */
export function panelsOf(dashboard: any): any[] {
  const panels: any[] = [];
  for (const panel of dashboard.panels ?? []) {
    panels.push(panel);
    for (const inner of panel.panels ?? []) panels.push(inner);
  }
  return panels;
}

/** Values of Grafana's own interval variables used when a dashboard query is run outside Grafana. */
export const BUILTIN_VALUES: Record<string, string> = {
  __rate_interval: '1m',
  __interval: '15s',
  __interval_ms: '15000',
  __range: '5m',
  __range_s: '300',
  __range_ms: '300000',
};

const secondsOf = (duration: string): number => {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(duration.trim());
  if (!match) throw new Error(`"${duration}" is not a duration`);
  return (Number(match[1]) * { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as 'ms'])!;
};

/** Grafana's SQL macros, expanded as the PostgreSQL datasource would for the last `__range`. */
function expandSqlMacros(sql: string): string {
  const range = secondsOf(BUILTIN_VALUES.__range);
  const interval = (text: string) => secondsOf(text.replace(/\$\{?(\w+)\}?/g, (_, name) => BUILTIN_VALUES[name] ?? _));
  return sql
    .replace(
      /\$__timeFilter\(([^)]+)\)/g,
      (_, column) => `${column.trim()} BETWEEN now() - interval '${range} seconds' AND now()`,
    )
    .replace(/\$__timeGroupAlias\(([^,]+),([^)]+)\)/g, (_, column, step) => {
      const seconds = interval(step);
      return `to_timestamp(floor(extract(epoch from ${column.trim()}) / ${seconds}) * ${seconds}) AS "time"`;
    })
    .replace(/\$__timeGroup\(([^,]+),([^)]+)\)/g, (_, column, step) => {
      const seconds = interval(step);
      return `to_timestamp(floor(extract(epoch from ${column.trim()}) / ${seconds}) * ${seconds})`;
    })
    .replace(/\$__timeFrom\(\)/g, `(now() - interval '${range} seconds')`)
    .replace(/\$__timeTo\(\)/g, 'now()');
}

export interface DashboardVariable {
  dashboard: string;
  name: string;
  type: string;
  datasourceUid?: string;
  datasourceType?: string;
  query: string;
  multi: boolean;
  includeAll: boolean;
  allValue?: string;
  definition: any;
}

export function variablesOf(dashboard: any): DashboardVariable[] {
  return (dashboard.templating?.list ?? []).map((variable: any) => ({
    dashboard: dashboard.uid,
    name: variable.name,
    type: variable.type,
    datasourceUid: variable.datasource?.uid,
    datasourceType: variable.datasource?.type,
    query: typeof variable.query === 'object' ? String(variable.query?.query ?? '') : String(variable.query ?? ''),
    multi: variable.multi === true,
    includeAll: variable.includeAll === true,
    allValue: variable.allValue || undefined,
    definition: variable,
  }));
}

export function dashboardVariables(): DashboardVariable[] {
  return dashboardFiles().flatMap(({ json }) => variablesOf(json));
}

/** `$name`, `${name}`, `${name:format}` and `[[name]]` references in a query. */
export function variableReferences(text: string): string[] {
  return [...text.matchAll(/\$(\w+)|\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]/g)].map(
    (match) => match[1] ?? match[2] ?? match[3],
  );
}

const regexEscape = (value: string): string => value.replace(/[\\^$*+?.()|{}[\]]/g, '\\\\$&');

/** A variable's value in a query, formatted the way Grafana does for the datasource type. */
function formatValue(variable: DashboardVariable, values: string[] | undefined, datasourceType: string): string {
  const definition = variable.definition;
  if (values === undefined) {
    if (variable.type === 'textbox' || variable.type === 'constant') {
      return String(definition.current?.value ?? variable.query ?? '');
    }
    const current = definition.current?.value;
    const all = Array.isArray(current) ? current.includes('$__all') : current === '$__all';
    if (all && variable.allValue !== undefined) return variable.allValue; // inserted as is, never escaped
    if (variable.type === 'custom') {
      values = all ? variable.query.split(',').map((value) => value.trim()) : [current].flat().map(String);
    } else {
      values = ['example'];
    }
  }
  if (datasourceType === 'prometheus' || datasourceType === 'loki') {
    const escaped = values.map(regexEscape);
    return escaped.length === 1 ? escaped[0] : `(${escaped.join('|')})`;
  }
  if (datasourceType.includes('postgres') || datasourceType.includes('mysql')) {
    return values.map((value) => `'${value.replace(/'/g, "''")}'`).join(',');
  }
  return values[0] ?? '';
}

/**
 * A dashboard query as Grafana would send it: SQL macros, interval variables (BUILTIN_VALUES) and the
 * dashboard's variables replaced. Values of variables come from `values` when given, else from the dashboard
 * (textbox contents, custom options, "All" through allValue). An unknown variable throws.
 */
export function substitute(
  text: string,
  variables: DashboardVariable[],
  datasourceType: string,
  values: Record<string, string[]> = {},
): string {
  const sql = datasourceType.includes('postgres') || datasourceType.includes('mysql');
  const expanded = sql ? expandSqlMacros(text) : text;
  return expanded.replace(/\$(\w+)|\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]/g, (whole, a, b, c) => {
    const name = (a ?? b ?? c) as string;
    if (name in BUILTIN_VALUES) return BUILTIN_VALUES[name];
    const variable = variables.find((candidate) => candidate.name === name);
    if (!variable) throw new Error(`query uses ${whole}, which is neither a dashboard variable nor built in: ${text}`);
    return formatValue(variable, values[name], datasourceType);
  });
}

export interface DashboardQuery {
  file: string;
  dashboard: string;
  dashboardUid: string;
  panel: string;
  refId: string;
  datasourceUid: string;
  datasourceType: string;
  /** The query as written in the dashboard. */
  raw: string;
  /** The query with every variable substituted. */
  expr: string;
  instant: boolean;
}

/** The text of a target's query, whatever the datasource calls it. */
export function queryText(target: any): string | undefined {
  return target.expr ?? target.rawSql ?? (typeof target.query === 'string' ? target.query : undefined);
}

/**
 * Every query of every provisioned dashboard (targets without a query text, such as Tempo's service map, are
 * left out), with variables substituted: see `substitute`.
 */
export function dashboardQueries(values: Record<string, string[]> = {}): DashboardQuery[] {
  const queries: DashboardQuery[] = [];
  for (const { file, json } of dashboardFiles()) {
    const variables = variablesOf(json);
    for (const panel of panelsOf(json)) {
      for (const target of panel.targets ?? []) {
        const raw = queryText(target);
        if (raw === undefined) continue;
        const datasource = target.datasource ?? panel.datasource ?? {};
        queries.push({
          file,
          dashboard: json.title,
          dashboardUid: json.uid,
          panel: panel.title,
          refId: target.refId,
          datasourceUid: datasource.uid,
          datasourceType: datasource.type,
          raw,
          expr: substitute(raw, variables, datasource.type ?? '', values),
          instant: target.instant === true,
        });
      }
    }
  }
  return queries;
}

// ------------------------------------------------------------------------------------------------ queries

const PROMQL_KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

/** Metric names a PromQL expression selects (identifiers that are not functions, keywords or labels). */
export function metricNames(promql: string): string[] {
  const stripped = promql
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/[A-Za-z_:][\w:]*/g)) {
    const before = stripped[match.index! - 1] ?? ' ';
    if (/[\w.]/.test(before)) continue; // part of a number such as 1e3 or 0.95
    const after = stripped.slice(match.index! + match[0].length);
    if (/^\s*\(/.test(after)) continue; // a function or an aggregation
    if (PROMQL_KEYWORDS.has(match[0].toLowerCase())) continue;
    names.add(match[0]);
  }
  return [...names];
}

/** What is used of a Lezer parser (@grafana/lezer-logql, @grafana/lezer-traceql). */
export interface LezerParser {
  parse(text: string): {
    iterate(spec: { enter: (node: { type: { isError: boolean }; from: number; to: number }) => void }): void;
  };
}

export interface ParseError {
  from: number;
  to: number;
  near: string;
}

/*
 * The Grafana grammars are ES modules with a CommonJS build (`require` condition); TypeScript's node16 resolution
 * refuses a static import of them from CommonJS, so they are required, typed by what is used.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
export const logqlParser = (): LezerParser => (require('@grafana/lezer-logql') as { parser: LezerParser }).parser;
export const traceqlParser = (): LezerParser => (require('@grafana/lezer-traceql') as { parser: LezerParser }).parser;
/* eslint-enable @typescript-eslint/no-require-imports */

/** Error nodes of a Lezer parse (LogQL, TraceQL): empty when the text parses cleanly. */
export function syntaxErrors(parser: LezerParser, text: string): ParseError[] {
  const errors: ParseError[] = [];
  parser.parse(text).iterate({
    enter: (node) => {
      if (node.type.isError) {
        errors.push({ from: node.from, to: node.to, near: text.slice(Math.max(0, node.from - 10), node.to + 10) });
      }
    },
  });
  return errors;
}
