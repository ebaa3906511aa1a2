import { existsSync, readdirSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { PassThrough } from 'node:stream';
import { parse } from 'yaml';
import { createLogger } from '../src/observability/logger';
import {
  commandOf,
  composeVariables,
  containerPorts,
  dashboardFiles,
  dashboardQueries,
  dashboardsDir,
  datasources,
  dependsOn,
  envExample,
  environmentOf,
  flagValue,
  grafanaEnvReferences,
  grafanaLiteral,
  hostAndPort,
  hostPathOf,
  loadCompose,
  logqlParser,
  mountsOf,
  panelsOf,
  queryText,
  readText,
  readYaml,
  repoPath,
  syntaxErrors,
  traceqlParser,
  variableReferences,
  variablesOf,
  type Compose,
  type ComposeService,
} from './support/stack';

/*
 * The compose stack, checked without Docker: every file it mounts exists, every name and port one file uses is
 * the one another file declares, every dashboard query refers to a provisioned datasource and parses. What only
 * a running stack can show is covered by test/dashboards-prometheus.test.ts (PromQL, against a real Prometheus
 * scraping a real Vitals) and by the `stack` job of .github/workflows/image.yml.
 */

const SERVICES = ['vitals', 'postgres', 'prometheus', 'grafana', 'loki', 'promtail', 'tempo'];

const compose: Compose = loadCompose();
const rawCompose: Compose = parse(readText('docker-compose.yml'));
const service = (name: string): ComposeService => compose.services[name];
const dockerfile = readText('Dockerfile');

/** Dockerfile instructions, continuation lines joined. */
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith('#'))
  .map((line) => {
    const [keyword, ...rest] = line.split(/\s+/);
    return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
  });

const hasHealthcheck = (name: string): boolean => {
  const definition = service(name);
  if (definition.healthcheck && !definition.healthcheck.disable) return true;
  // A service built from this repository has the Dockerfile's HEALTHCHECK.
  return definition.build !== undefined && instructions.some((instruction) => instruction.keyword === 'HEALTHCHECK');
};

/** The file a service's `-config.file=` / `--config.file=` flag names, back through its bind mount. */
function configFileOf(name: string): string {
  const path = flagValue(commandOf(service(name)), 'config.file');
  if (!path) throw new Error(`${name} has no -config.file in its command`);
  const host = hostPathOf(service(name), path);
  if (!host) throw new Error(`${name} reads ${path}, which no bind mount provides`);
  return posix.normalize(host);
}

/** Asserts `address` (URL or host:port) is a compose service listening on that port. */
function expectServiceAddress(address: string, expected?: string): { host: string; port: number } {
  const { host, port } = hostAndPort(address);
  if (expected) expect(host).toBe(expected);
  expect(SERVICES).toContain(host);
  expect({ address, ports: containerPorts(service(host)) }).toEqual({
    address,
    ports: expect.arrayContaining([port]),
  });
  return { host, port };
}

/** The named volume mounted at (or above) `path` in a service. */
function volumeAt(name: string, path: string): string | undefined {
  return mountsOf(service(name)).find(
    (mount) => mount.type === 'volume' && (path === mount.target || path.startsWith(`${mount.target}/`)),
  )?.source;
}

describe('docker-compose.yml', () => {
  it('has the whole stack, with pinned images', () => {
    expect(Object.keys(compose.services).sort()).toEqual([...SERVICES].sort());
    expect(service('vitals').build).toBe('.');
    for (const [name, definition] of Object.entries(compose.services)) {
      if (definition.build) continue;
      expect({ name, image: definition.image }).toEqual({ name, image: expect.stringMatching(/^[\w./-]+:[\w.-]+$/) });
      expect({ name, image: definition.image }).not.toEqual({ name, image: expect.stringMatching(/:latest$/) });
    }
  });

  it('takes every variable from .env (documented in .env.example) or a default, and .env.example has no extras', () => {
    const documented = envExample();
    const used = composeVariables(readText('docker-compose.yml'));
    for (const variable of used) {
      if (variable.fallback !== undefined) continue;
      expect({ variable: variable.name, documented: variable.name in documented }).toEqual({
        variable: variable.name,
        documented: true,
      });
    }
    for (const name of Object.keys(documented)) {
      expect({ name, used: used.some((variable) => variable.name === name) }).toEqual({ name, used: true });
    }
    // Secrets have no default: compose refuses to start without them.
    for (const secret of ['POSTGRES_PASSWORD', 'API_TOKENS', 'GF_ADMIN_PASSWORD']) {
      expect(used.filter((variable) => variable.name === secret).every((variable) => variable.required)).toBe(true);
    }
  });

  it('publishes ports from .env variables with defaults, on BIND_ADDRESS', () => {
    for (const [name, definition] of Object.entries(rawCompose.services)) {
      for (const port of definition.ports ?? []) {
        expect({ name, port }).toEqual({
          name,
          port: expect.stringMatching(/^\$\{BIND_ADDRESS:-[\d.]+\}:\$\{[A-Z]+_PORT:-\d+\}:\d+$/),
        });
      }
    }
  });

  it('depends only on services that exist, waiting for health only where there is a healthcheck', () => {
    for (const [name, definition] of Object.entries(compose.services)) {
      for (const dependency of dependsOn(definition)) {
        expect({ name, dependsOn: dependency.name, exists: dependency.name in compose.services }).toEqual({
          name,
          dependsOn: dependency.name,
          exists: true,
        });
        expect(['service_started', 'service_healthy', 'service_completed_successfully']).toContain(
          dependency.condition,
        );
        if (dependency.condition === 'service_healthy') {
          expect({ dependency: dependency.name, healthcheck: hasHealthcheck(dependency.name) }).toEqual({
            dependency: dependency.name,
            healthcheck: true,
          });
        }
      }
    }
    // No cycles.
    const visiting = new Set<string>();
    const visit = (name: string, path: string[]): void => {
      if (path.includes(name)) throw new Error(`dependency cycle: ${[...path, name].join(' -> ')}`);
      if (visiting.has(name)) return;
      visiting.add(name);
      for (const dependency of dependsOn(service(name))) visit(dependency.name, [...path, name]);
    };
    for (const name of SERVICES) visit(name, []);
    expect(dependsOn(service('vitals'))).toContainEqual({ name: 'postgres', condition: 'service_healthy' });
  });

  it('has a healthcheck for every service', () => {
    for (const name of SERVICES)
      expect({ name, healthcheck: hasHealthcheck(name) }).toEqual({ name, healthcheck: true });
  });

  it('probes each healthcheck on a port the service listens on', () => {
    for (const name of SERVICES) {
      const test = service(name).healthcheck?.test;
      if (!test) continue;
      const text = Array.isArray(test) ? test.join(' ') : test;
      for (const match of text.matchAll(/(?:https?:\/\/|\/dev\/tcp\/)(?:127\.0\.0\.1|localhost)[:/](\d+)/g)) {
        expect({ name, listens: containerPorts(service(name)).includes(Number(match[1])) }).toEqual({
          name,
          listens: true,
        });
      }
    }
  });

  it('declares every named volume it uses and uses every one it declares', () => {
    const used = new Set(
      Object.values(compose.services).flatMap((definition) =>
        mountsOf(definition)
          .filter((mount) => mount.type === 'volume')
          .map((mount) => mount.source),
      ),
    );
    expect([...used].sort()).toEqual(Object.keys(compose.volumes ?? {}).sort());
  });

  it('mounts only files and folders that exist in the repository, read-only', () => {
    const binds = Object.entries(compose.services).flatMap(([name, definition]) =>
      mountsOf(definition)
        .filter((mount) => mount.type === 'bind')
        .map((mount) => ({ name, ...mount })),
    );
    expect(binds.length).toBeGreaterThan(0);
    for (const bind of binds) {
      expect(bind.source).toMatch(/^\.\/(?!\.\.)/);
      expect({ source: bind.source, exists: existsSync(repoPath(bind.source)) }).toEqual({
        source: bind.source,
        exists: true,
      });
      expect({ source: bind.source, readOnly: bind.readOnly }).toEqual({ source: bind.source, readOnly: true });
    }
    expect(existsSync(repoPath(String(service('vitals').build), 'Dockerfile'))).toBe(true);
  });

  it('gives each stateful service a named volume for its data', () => {
    expect(volumeAt('postgres', '/var/lib/postgresql/data')).toBe('pgdata');
    expect(volumeAt('prometheus', flagValue(commandOf(service('prometheus')), 'storage.tsdb.path')!)).toBeDefined();
    expect(volumeAt('grafana', '/var/lib/grafana')).toBeDefined();
    const loki = readYaml(configFileOf('loki'));
    expect(volumeAt('loki', loki.common.path_prefix)).toBeDefined();
    const tempo = readYaml(configFileOf('tempo'));
    expect(volumeAt('tempo', tempo.storage.trace.local.path)).toBeDefined();
    expect(volumeAt('tempo', tempo.storage.trace.wal.path)).toBeDefined();
    const promtail = readYaml(configFileOf('promtail'));
    expect(volumeAt('promtail', posix.dirname(promtail.positions.filename))).toBeDefined();
  });
});

describe('wiring between the services', () => {
  const vitalsEnv = environmentOf(service('vitals'));
  const postgresEnv = environmentOf(service('postgres'));

  it('runs Vitals on all interfaces with write tokens, on the port it publishes', () => {
    expect(vitalsEnv.HOST).toBe('0.0.0.0');
    expect(containerPorts(service('vitals'))).toContain(Number(vitalsEnv.PORT));
    expect(vitalsEnv.API_TOKENS).toBe(envExample().API_TOKENS);
    expect(readText('docker-compose.yml')).toMatch(/API_TOKENS: \$\{API_TOKENS:\?/);
  });

  it('points Vitals at the postgres service and its database', () => {
    const url = new URL(vitalsEnv.DATABASE_URL);
    expect(url.protocol).toBe('postgres:');
    expectServiceAddress(`${url.hostname}:${url.port}`, 'postgres');
    expect(url.pathname).toBe(`/${postgresEnv.POSTGRES_DB}`);
    expect(decodeURIComponent(url.username)).toBe(postgresEnv.POSTGRES_USER ?? 'postgres');
    expect(decodeURIComponent(url.password)).toBe(postgresEnv.POSTGRES_PASSWORD);
  });

  it("sends Vitals' traces to Tempo's OTLP/gRPC receiver", () => {
    const { port } = expectServiceAddress(vitalsEnv.OTEL_EXPORTER_OTLP_ENDPOINT, 'tempo');
    const tempo = readYaml(configFileOf('tempo'));
    const grpc = tempo.distributor.receivers.otlp.protocols.grpc.endpoint as string;
    const http = tempo.distributor.receivers.otlp.protocols.http.endpoint as string;
    expect(grpc).toBe(`0.0.0.0:${port}`);
    expect(http).toBe('0.0.0.0:4318');
    expect(containerPorts(service('tempo'))).toEqual(
      expect.arrayContaining([4317, 4318, tempo.server.http_listen_port]),
    );
    expect(tempo.storage.trace.backend).toBe('local');
    // The metrics generator writes to Prometheus, which must accept remote writes.
    for (const write of tempo.metrics_generator.storage.remote_write) expectServiceAddress(write.url, 'prometheus');
    expect(commandOf(service('prometheus'))).toContain('--web.enable-remote-write-receiver');
  });

  it('shares the log file between Vitals and Promtail through one volume', () => {
    const logDir = posix.dirname(vitalsEnv.LOG_FILE);
    const volume = volumeAt('vitals', logDir);
    expect(volume).toBeDefined();
    const promtail = readYaml(configFileOf('promtail'));
    const paths = promtail.scrape_configs.flatMap((job: any) =>
      job.static_configs.map((config: any) => config.labels.__path__ as string),
    );
    expect(paths.length).toBeGreaterThan(0);
    for (const path of paths) {
      expect(volumeAt('promtail', posix.dirname(path))).toBe(volume);
      // The glob matches Vitals' file, at the same place in both containers.
      const pattern = new RegExp(`^${path.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
      expect(vitalsEnv.LOG_FILE).toMatch(pattern);
    }
  });

  it('has Promtail parse the JSON lines, label them by level and service, and push to Loki', () => {
    const promtail = readYaml(configFileOf('promtail'));
    for (const client of promtail.clients) {
      const { host } = expectServiceAddress(client.url, 'loki');
      expect(new URL(client.url).pathname).toBe('/loki/api/v1/push');
      expect(host).toBe('loki');
    }
    expect(containerPorts(service('promtail'))).toContain(promtail.server.http_listen_port);
    const stages = promtail.scrape_configs[0].pipeline_stages as Array<Record<string, any>>;
    const stage = (name: string) => stages.find((candidate) => name in candidate)?.[name];
    expect(Object.keys(stage('json').expressions)).toEqual(
      expect.arrayContaining(['level', 'trace_id', 'message', 'route', 'timestamp']),
    );
    expect(Object.keys(stage('labels')).sort()).toEqual(['level', 'service']);
    expect(stage('timestamp')).toMatchObject({ source: 'timestamp', format: 'RFC3339Nano' });
  });

  it('runs Loki as one process on the filesystem, schema v13 on tsdb', () => {
    const loki = readYaml(configFileOf('loki'));
    expect(containerPorts(service('loki'))).toContain(loki.server.http_listen_port);
    expect(loki.auth_enabled).toBe(false);
    const schema = loki.schema_config.configs.at(-1);
    expect(schema).toMatchObject({ store: 'tsdb', object_store: 'filesystem', schema: 'v13' });
    expect(loki.common.storage.filesystem).toBeDefined();
  });

  it('has Prometheus keep exemplars and scrape Vitals, itself and the rest of the stack', () => {
    const command = commandOf(service('prometheus'));
    expect(command).toContain('--enable-feature=exemplar-storage');
    const config = readYaml(configFileOf('prometheus'));
    expect(configFileOf('prometheus')).toBe('prometheus/prometheus.yml');
    const jobs = Object.fromEntries(config.scrape_configs.map((job: any) => [job.job_name, job]));
    expect(jobs.vitals.static_configs[0].targets).toEqual([`vitals:${vitalsEnv.PORT}`]);
    expect(jobs.vitals.metrics_path ?? '/metrics').toBe('/metrics');
    expect(jobs.prometheus).toBeDefined();
    for (const job of config.scrape_configs) {
      for (const target of job.static_configs.flatMap((config: any) => config.targets as string[])) {
        const { host, port } = hostAndPort(target);
        if (host === 'localhost' || host === '127.0.0.1') {
          expect(containerPorts(service('prometheus'))).toContain(port);
        } else {
          expectServiceAddress(target);
        }
      }
    }
  });

  it('gives Grafana its provisioning and dashboards from the repository, and the variables they expand', () => {
    expect(hostPathOf(service('grafana'), '/etc/grafana/provisioning')).toBe('grafana/provisioning');
    expect(dashboardsDir()).toBe('grafana/dashboards');
    const grafanaEnv = environmentOf(service('grafana'));
    const provisioning = readText('grafana/provisioning/datasources/datasources.yml');
    for (const name of grafanaEnvReferences(provisioning)) {
      expect({ name, set: (grafanaEnv[name] ?? '') !== '' }).toEqual({ name, set: true });
    }
    expect(grafanaEnv.POSTGRES_PASSWORD).toBe(postgresEnv.POSTGRES_PASSWORD);
    expect(grafanaEnv.GF_SECURITY_ADMIN_PASSWORD).toBe(envExample().GF_ADMIN_PASSWORD);
    const home = grafanaEnv.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
    if (home) expect(existsSync(repoPath(hostPathOf(service('grafana'), home)!))).toBe(true);
  });

  it('points every Grafana datasource at a service and port of the stack', () => {
    for (const datasource of datasources()) {
      expectServiceAddress(datasource.url!);
    }
    const postgres = datasources().find((datasource) => datasource.type === 'grafana-postgresql-datasource')!;
    expect(hostAndPort(postgres.url!).host).toBe('postgres');
    expect(postgres.jsonData?.database).toBe(postgresEnv.POSTGRES_DB);
    expect(postgres.user).toBe(postgresEnv.POSTGRES_USER ?? 'postgres');
    const tempo = readYaml(configFileOf('tempo'));
    const loki = readYaml(configFileOf('loki'));
    const byType = (type: string) => hostAndPort(datasources().find((datasource) => datasource.type === type)!.url!);
    expect(byType('tempo')).toEqual({ host: 'tempo', port: tempo.server.http_listen_port });
    expect(byType('loki')).toEqual({ host: 'loki', port: loki.server.http_listen_port });
    expect(byType('prometheus')).toEqual({ host: 'prometheus', port: 9090 });
  });
});

describe('Grafana datasources', () => {
  const all = datasources();
  const byUid = (uid: string) => all.find((datasource) => datasource.uid === uid);

  it('provisions Prometheus, Loki, Tempo and PostgreSQL with fixed uids', () => {
    expect(new Set(all.map((datasource) => datasource.uid)).size).toBe(all.length);
    expect(all.map((datasource) => [datasource.uid, datasource.type]).sort()).toEqual(
      [
        ['loki', 'loki'],
        ['postgres', 'grafana-postgresql-datasource'],
        ['prometheus', 'prometheus'],
        ['tempo', 'tempo'],
      ].sort(),
    );
  });

  it('links only to provisioned datasources', () => {
    const links: string[] = [];
    const walk = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(walk);
      else if (value && typeof value === 'object') {
        for (const [key, inner] of Object.entries(value)) {
          if (key === 'datasourceUid') links.push(String(inner));
          else walk(inner);
        }
      }
    };
    all.forEach((datasource) => walk(datasource.jsonData));
    expect(links.length).toBeGreaterThanOrEqual(6);
    for (const uid of links) expect({ uid, provisioned: byUid(uid) !== undefined }).toEqual({ uid, provisioned: true });
  });

  it('links Prometheus exemplars (trace_id) to Tempo', () => {
    expect(byUid('prometheus')!.jsonData!.exemplarTraceIdDestinations).toEqual([
      expect.objectContaining({ name: 'trace_id', datasourceUid: 'tempo' }),
    ]);
  });

  it("links Loki lines to Tempo by the trace_id in Vitals' JSON", () => {
    const [field] = byUid('loki')!.jsonData!.derivedFields;
    expect(field).toMatchObject({ datasourceUid: 'tempo', matcherType: 'regex' });
    expect(grafanaLiteral(field.url)).toBe('${__value.raw}');
    // A line written by Vitals' own logger, as Promtail reads it from LOG_FILE.
    const sink = new PassThrough();
    let written = '';
    sink.on('data', (chunk: Buffer) => (written += chunk.toString()));
    const logger = createLogger('info', { destination: sink });
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    logger.info('request', { trace_id: traceId, span_id: '00f067aa0ba902b7', route: '/api/v1/targets/:id' });
    logger.end();
    const line = written.split('\n')[0];
    expect(new RegExp(field.matcherRegex).exec(line)?.[1]).toBe(traceId);
  });

  it('links Tempo spans to their logs in Loki and their route metrics in Prometheus', () => {
    const tempo = byUid('tempo')!.jsonData!;
    expect(tempo.tracesToLogsV2).toMatchObject({ datasourceUid: 'loki', filterByTraceID: true });
    // Span attributes map to labels Promtail actually sets.
    const promtail = readYaml(configFileOf('promtail'));
    const labels = new Set<string>(
      promtail.scrape_configs.flatMap((job: any) =>
        Object.keys(job.pipeline_stages.find((stage: any) => stage.labels).labels),
      ),
    );
    for (const tag of tempo.tracesToLogsV2.tags) expect(labels).toContain(tag.value ?? tag.key);
    expect(tempo.tracesToMetrics).toMatchObject({ datasourceUid: 'prometheus' });
    for (const query of tempo.tracesToMetrics.queries) expect(grafanaLiteral(query.query)).toContain('$__tags');
    expect(tempo.serviceMap).toEqual({ datasourceUid: 'prometheus' });
  });
});

describe('dashboards', () => {
  const files = dashboardFiles();
  const provisioned = new Map(datasources().map((datasource) => [datasource.uid, datasource.type]));
  const BUILT_IN_DATASOURCES = new Set(['-- Grafana --', 'grafana']);

  it('are the JSON files of the provisioned folder, each with a unique uid and title', () => {
    expect(
      readdirSync(repoPath(dashboardsDir())).filter((name) => statSync(repoPath(dashboardsDir(), name)).isFile()),
    ).toEqual(files.map((file) => posix.basename(file.file)));
    expect(files.map((file) => file.json.uid).sort()).toEqual([
      'vitals-leadtime',
      'vitals-logs',
      'vitals-service',
      'vitals-traces',
      'vitals-uptime',
    ]);
    expect(new Set(files.map((file) => file.json.title)).size).toBe(files.length);
    for (const { file, json } of files) {
      expect({ file, uid: json.uid }).toEqual({ file, uid: expect.stringMatching(/^[\w-]{1,40}$/) });
      expect({ file, title: typeof json.title }).toEqual({ file, title: 'string' });
      expect({ file, schemaVersion: json.schemaVersion }).toEqual({ file, schemaVersion: expect.any(Number) });
      expect(json.schemaVersion).toBeGreaterThanOrEqual(36);
      expect(json.id ?? null).toBeNull();
      expect(Array.isArray(json.panels) && json.panels.length > 0).toBe(true);
    }
  });

  it('have panels with a type, a place on the grid, a datasource and queries, without overlapping', () => {
    for (const { file, json } of files) {
      const panels = panelsOf(json);
      expect(new Set(panels.map((panel) => panel.id)).size).toBe(panels.length);
      for (const panel of panels) {
        const where = `${file}: ${panel.title}`;
        expect({ where, type: panel.type }).toEqual({ where, type: expect.any(String) });
        expect({ where, gridPos: panel.gridPos }).toEqual({
          where,
          gridPos: { h: expect.any(Number), w: expect.any(Number), x: expect.any(Number), y: expect.any(Number) },
        });
        expect(panel.gridPos.x + panel.gridPos.w).toBeLessThanOrEqual(24);
        expect({ where, datasource: panel.datasource }).toEqual({
          where,
          datasource: { type: expect.any(String), uid: expect.any(String) },
        });
        expect({ where, targets: panel.targets?.length ?? 0 }).toEqual({ where, targets: expect.any(Number) });
        expect(panel.targets.length).toBeGreaterThan(0);
        for (const target of panel.targets) {
          if (target.queryType === 'serviceMap') continue;
          expect({ where, refId: target.refId, query: queryText(target) }).toEqual({
            where,
            refId: target.refId,
            query: expect.stringMatching(/\S/),
          });
        }
      }
      for (let i = 0; i < panels.length; i++) {
        for (let j = i + 1; j < panels.length; j++) {
          const [a, b] = [panels[i].gridPos, panels[j].gridPos];
          const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
          expect({ file, panels: [panels[i].title, panels[j].title], overlap }).toEqual({
            file,
            panels: [panels[i].title, panels[j].title],
            overlap: false,
          });
        }
      }
    }
  });

  it('use only provisioned datasources, by uid, with their type', () => {
    const uses: Array<{ where: string; datasource: any }> = [];
    for (const { file, json } of files) {
      for (const panel of panelsOf(json)) {
        uses.push({ where: `${file}: ${panel.title}`, datasource: panel.datasource });
        for (const target of panel.targets ?? []) {
          uses.push({
            where: `${file}: ${panel.title} ${target.refId}`,
            datasource: target.datasource ?? panel.datasource,
          });
        }
      }
      for (const variable of json.templating?.list ?? []) {
        if (variable.datasource) uses.push({ where: `${file}: $${variable.name}`, datasource: variable.datasource });
      }
      for (const annotation of json.annotations?.list ?? []) {
        if (!BUILT_IN_DATASOURCES.has(annotation.datasource?.uid)) {
          uses.push({ where: `${file}: annotation ${annotation.name}`, datasource: annotation.datasource });
        }
      }
    }
    for (const { where, datasource } of uses) {
      expect({ where, uid: datasource?.uid, type: datasource?.type }).toEqual({
        where,
        uid: datasource?.uid,
        type: provisioned.get(datasource?.uid) ?? '(not provisioned)',
      });
    }
  });

  it('use only variables they define or Grafana builds in', () => {
    expect(() => dashboardQueries()).not.toThrow();
    expect(dashboardQueries().length).toBeGreaterThan(20);
    // A custom "All" value is inserted unquoted, which SQL cannot take.
    for (const { file, json } of files) {
      const withAllValue = variablesOf(json)
        .filter((variable) => variable.allValue !== undefined)
        .map((v) => v.name);
      for (const panel of panelsOf(json)) {
        for (const target of panel.targets ?? []) {
          if (!target.rawSql) continue;
          for (const name of variableReferences(target.rawSql)) {
            expect({ file, panel: panel.title, variable: name, allValue: withAllValue.includes(name) }).toEqual({
              file,
              panel: panel.title,
              variable: name,
              allValue: false,
            });
          }
        }
      }
    }
  });

  it('chart what the service, uptime, logs and traces dashboards are for', () => {
    const text = (uid: string) =>
      dashboardQueries()
        .filter((query) => query.dashboardUid === uid)
        .map((query) => query.raw)
        .join('\n');
    expect(text('vitals-service')).toContain(
      'sum by (route, status_code) (rate(http_requests_total{job="vitals", route=~"$route"}[$__rate_interval]))',
    );
    for (const metric of [
      'http_request_duration_seconds_bucket',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_p99_seconds',
    ]) {
      expect(text('vitals-service')).toContain(metric);
    }
    for (const metric of [
      'vitals_target_up',
      'vitals_checks_total',
      'vitals_check_duration_seconds_bucket',
      'vitals_checker_scheduling_lag_seconds_bucket',
      'vitals_checker_buffer_depth',
      'vitals_checker_dropped_results_total',
      'FROM checks',
    ]) {
      expect(text('vitals-uptime')).toContain(metric);
    }
    expect(text('vitals-logs')).toContain('{service="vitals", level="error"}');
    expect(text('vitals-logs')).toContain('|= "$search"');
    expect(text('vitals-traces')).toContain('status = error');
    expect(text('vitals-traces')).toContain('duration > $min_duration');
    const exemplars = files
      .flatMap(({ json }) => panelsOf(json))
      .flatMap((panel) => panel.targets ?? [])
      .filter((target) => target.exemplar === true);
    expect(exemplars.length).toBeGreaterThan(0);
  });

  it('have LogQL that parses, selecting streams by labels Promtail sets', () => {
    const promtail = readYaml(configFileOf('promtail'));
    const labels = new Set<string>(['filename']);
    for (const job of promtail.scrape_configs) {
      for (const config of job.static_configs) for (const label of Object.keys(config.labels)) labels.add(label);
      for (const stage of job.pipeline_stages)
        if (stage.labels) for (const label of Object.keys(stage.labels)) labels.add(label);
    }
    const parser = logqlParser();
    const queries = dashboardQueries().filter((query) => query.datasourceType === 'loki');
    expect(queries.length).toBeGreaterThan(3);
    for (const query of queries) {
      expect({ query: query.expr, errors: syntaxErrors(parser, query.expr) }).toEqual({
        query: query.expr,
        errors: [],
      });
      for (const selector of query.expr.matchAll(/\{([^}]*)\}/g)) {
        for (const matcher of selector[1].matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)) {
          expect({ query: query.expr, label: matcher[1], set: labels.has(matcher[1]) }).toEqual({
            query: query.expr,
            label: matcher[1],
            set: true,
          });
        }
      }
    }
  });

  it('have TraceQL that parses', () => {
    const parser = traceqlParser();
    const queries = dashboardQueries().filter((query) => query.datasourceType === 'tempo');
    expect(queries.length).toBeGreaterThan(2);
    for (const query of queries) {
      expect({ query: query.expr, errors: syntaxErrors(parser, query.expr) }).toEqual({
        query: query.expr,
        errors: [],
      });
    }
  });

  it('would notice a LogQL or TraceQL syntax error', () => {
    expect(syntaxErrors(logqlParser(), '{service="vitals" | json')).not.toEqual([]);
    expect(syntaxErrors(traceqlParser(), '{ resource.service.name = "vitals" && }')).not.toEqual([]);
  });
});

describe('Dockerfile', () => {
  const stages = instructions.filter((instruction) => instruction.keyword === 'FROM');
  const runtimeStart = instructions.lastIndexOf(stages.at(-1)!);
  const runtime = instructions.slice(runtimeStart);
  const build = instructions.slice(0, runtimeStart);

  it('builds with dev dependencies in one stage and runs on node:20-bookworm-slim in another', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages[0].args).toMatch(/ AS build$/i);
    expect(stages.at(-1)!.args).toMatch(/^node:20-bookworm-slim\b/);
    expect(build.some((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args) && !/--omit=dev/.test(i.args))).toBe(
      true,
    );
    expect(build.some((i) => i.keyword === 'RUN' && /\bnpm run build\b/.test(i.args))).toBe(true);
    expect(runtime.some((i) => i.keyword === 'RUN' && /\bnpm ci\b.*--omit=dev/.test(i.args))).toBe(true);
  });

  it('ships dist/, openapi.yaml and package.json', () => {
    const copies = runtime.filter((i) => i.keyword === 'COPY').map((i) => i.args);
    expect(copies).toContainEqual(expect.stringMatching(/^--from=build \/app\/dist \.\/dist$/));
    expect(copies.join('\n')).toMatch(/\bopenapi\.yaml\b/);
    expect(copies.join('\n')).toMatch(/\bpackage\.json\b/);
  });

  it('runs as a non-root user, on port 8080, with a healthcheck through node', () => {
    const user = runtime.filter((i) => i.keyword === 'USER').at(-1);
    expect(user?.args).toBeDefined();
    expect(user!.args).not.toMatch(/^(root|0)(:|$)/);
    expect(runtime.find((i) => i.keyword === 'EXPOSE')?.args).toBe('8080');
    const healthcheck = runtime.find((i) => i.keyword === 'HEALTHCHECK')?.args ?? '';
    expect(healthcheck).toMatch(/CMD \["node", "-e", .*\/health/);
    expect(healthcheck).not.toMatch(/\b(curl|wget)\b/);
    expect(runtime.find((i) => i.keyword === 'CMD')?.args).toBe('["node", "dist/main.js"]');
  });

  it('copies only what exists and what .dockerignore lets through', () => {
    const ignored = readText('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    for (const entry of ['node_modules', 'dist', '.env', '.git', 'data']) expect(ignored).toContain(entry);
    const sources = instructions
      .filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    for (const source of sources) {
      expect({ source, exists: existsSync(repoPath(source)) }).toEqual({ source, exists: true });
      const top = source.replace(/^\.\//, '').split('/')[0];
      expect({ source, ignored: ignored.includes(top) }).toEqual({ source, ignored: false });
    }
  });
});

describe('.github/workflows/image.yml', () => {
  const workflow = readYaml('.github/workflows/image.yml');
  const testWorkflow = readYaml('.github/workflows/test.yml');

  it('runs only after the test workflow succeeded for a push', () => {
    expect(workflow.on.workflow_run.workflows).toEqual([testWorkflow.name]);
    expect(workflow.on.workflow_run.types).toEqual(['completed']);
    const push = workflow.jobs.image;
    expect(push.if).toContain("github.event.workflow_run.conclusion == 'success'");
    expect(push.if).toContain("github.event.workflow_run.event == 'push'");
    expect(workflow.permissions).toMatchObject({ packages: 'write' });
  });

  it('pushes the image to ghcr.io tagged by commit and version', () => {
    const steps = Object.values(workflow.jobs).flatMap((job: any) => job.steps as any[]);
    const meta = steps.find((step) => String(step.uses).startsWith('docker/metadata-action@'));
    expect(meta.with.images).toBe('${{ steps.names.outputs.image }}');
    const names = steps.find((step) => step.id === 'names');
    expect(names.run).toContain('image=ghcr.io/${GITHUB_REPOSITORY,,}');
    expect(meta.with.tags).toMatch(/sha-/);
    expect(meta.with.tags).toMatch(/type=semver,pattern=\{\{version\}\}/);
    const pushes = steps.filter(
      (step) => String(step.uses).startsWith('docker/build-push-action@') && step.with.push === true,
    );
    expect(pushes).toHaveLength(1);
    expect(pushes[0].with.tags).toContain('steps.meta.outputs.tags');
    const checkout = steps.find((step) => String(step.uses).startsWith('actions/checkout@'));
    expect(checkout.with.ref).toBe('${{ github.event.workflow_run.head_sha }}');
  });
});
