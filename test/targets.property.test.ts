import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { DEFAULT_DENY_CIDRS } from '../src/config/config';
import { listOperations, loadSpec, resolveRef, type OpenApiParameter } from '../src/openapi/spec';
import type { Target } from '../src/targets/target';
import {
  anyJson,
  anyUnit,
  arbitraryFromSchema,
  asciiUnit,
  componentSchema,
  invalidArbitraryFromSchema,
  isValid,
  schemaLength,
  throughJson,
  withProperty,
  type JsonSchema,
} from './support/arbitrary';
import { AUTH, startTestApp, type TestApp } from './support/app';
import { assertMatchesSpec } from './support/contract';
import { createTestDatabase, type TestDatabase } from './support/database';

/*
 * Property-based tests of every targets operation of openapi.yaml: generated requests, valid and invalid, are
 * sent through Fastify's inject and every response is checked against the document. Valid bodies are
 * generated from the schemas and bent to respect the rules the schemas cannot express, so most are accepted;
 * invalid ones are valid ones with one thing broken, and the field broken must be named in the problem. A model
 * of the stored targets (every change goes through these tests) predicts each answer, pages included.
 *
 * The seed is random; fast-check prints it with a failure, and VITALS_PROPERTY_SEED=<seed> replays the run.
 * VITALS_PROPERTY_RUNS sets the number of runs per operation (400);
 * VITALS_PROPERTY_STATS=1 prints how many requests of each kind were sent and what they got.
 */

const RUNS = Number(process.env.VITALS_PROPERTY_RUNS ?? 400);
/**
 * One seed for every property, random unless VITALS_PROPERTY_SEED is set: with the seed fast-check prints on a
 * failure, the whole run replays (the properties share the database, so one seed must drive them all).
 */
const SEED = process.env.VITALS_PROPERTY_SEED
  ? Number(process.env.VITALS_PROPERTY_SEED)
  : (Date.now() ^ (Math.random() * 0x100000000)) | 0;
// Every run completes, however slow the machine: counts are asserted below, so no time limit cuts runs short.
const runParameters = { seed: SEED };
// 2,400 requests take ~10 s on an idle machine; a loaded one (a benchmark beside it) can take many times that.
jest.setTimeout(300_000);

/** True when `segment` is not valid percent-encoding (`%zz`, a lone `%`). */
function badPercentInPath(segment: string): boolean {
  try {
    decodeURIComponent(segment);
    return false;
  } catch {
    return true;
  }
}

const { document } = loadSpec();
const COLLECTION = '/api/v1/targets';
const ITEM_TEMPLATE = '/api/v1/targets/{id}';
const SCHEMA = {
  create: componentSchema('TargetCreate'),
  patch: componentSchema('TargetPatch'),
  url: componentSchema('TargetUrl'),
  duration: componentSchema('Duration'),
  name: componentSchema('TargetName'),
};

type OperationId = 'listTargets' | 'createTarget' | 'getTarget' | 'updateTarget' | 'deleteTarget' | 'checkTarget';

/** The operations tagged `targets` in openapi.yaml: every one of them must be exercised here. */
const targetOperations = listOperations(document).filter(({ operation }) =>
  ((operation as { tags?: string[] }).tags ?? []).includes('targets'),
);

function parametersOf(operationId: OperationId): OpenApiParameter[] {
  const found = targetOperations.find(({ operation }) => operation.operationId === operationId);
  if (!found) throw new Error(`openapi.yaml has no operation ${operationId}`);
  return [...(found.pathItem.parameters ?? []), ...(found.operation.parameters ?? [])].map((parameter) =>
    resolveRef<OpenApiParameter>(document, parameter),
  );
}

const listParameters = parametersOf('listTargets').filter((parameter) => parameter.in === 'query');
const idSchema = parametersOf('getTarget').find((parameter) => parameter.in === 'path')!.schema;

// ---------------------------------------------------------------- app, model and bookkeeping

let db: TestDatabase;
let vitals: TestApp;

const counts: Record<OperationId, number> = {
  listTargets: 0,
  createTarget: 0,
  getTarget: 0,
  updateTarget: 0,
  deleteTarget: 0,
  checkTarget: 0,
};
const statuses: Record<string, number> = {};
/** How many cases of each kind were generated per operation, for the summary. */
const cases: Record<string, number> = {};
const tally = (key: string) => (cases[key] = (cases[key] ?? 0) + 1);
let setupRequests = 0;
const validCreates = { sent: 0, created: 0 };
const validPatches = { sent: 0, updated: 0 };

/** Every target stored, as last returned by the API: only these tests change the database. */
const model = new Map<string, Target>();
/** Ids of targets deleted by these tests. */
const deleted: string[] = [];
/** Cursors the server handed out, with the name of the last item of the page each ended. */
const cursors = new Map<string, string>();

/** Host names the test resolver knows; everything else resolves to nothing (and is allowed). */
function testResolve(host: string): string[] {
  if (host.endsWith('.metadata.test')) return ['169.254.169.254'];
  if (host.endsWith('.multi.test')) return ['192.0.2.10', 'fe80::1'];
  if (host.endsWith('.mapped.test')) return ['::ffff:169.254.1.1'];
  if (host === 'localhost') return ['127.0.0.1'];
  return [];
}

beforeAll(async () => {
  db = await createTestDatabase('targets_property');
  // ROLE=api: no scheduler, so the generated targets (random hosts) are never probed in the background.
  vitals = await startTestApp(db.url, { ROLE: 'api' }, { resolver: async (host) => testResolve(host) });
  while (model.size < 12) await createFixture();
});

afterAll(async () => {
  await vitals?.close();
  await db?.drop();
});

let fixtures = 0;

/** A plain target, named deterministically so that a seed replays a whole run. */
async function createFixture(): Promise<void> {
  const i = fixtures++;
  const body = {
    name: `fixture-${i}-setup`,
    kind: i % 2 === 0 ? 'http' : 'prometheus',
    url: `http://127.0.0.1:9/${i}`,
    enabled: i % 3 !== 0,
    interval: ['10s', '1m', '1h'][i % 3],
    labels: { team: i % 4 < 2 ? 'core' : 'edge', env: 'prod', shard: String(i % 3) },
  };
  const response = await send('createTarget', 'POST', COLLECTION, { json: body }, { setup: true });
  if (response.status !== 201)
    throw new Error(`fixture not created: ${response.status} ${JSON.stringify(response.body)}`);
}

function remember(target: Target): void {
  model.set(target.id, target);
}

function forget(id: string): void {
  model.delete(id);
  deleted.push(id);
}

function nameOwner(name: string): string | undefined {
  for (const target of model.values()) if (target.name === name) return target.id;
  return undefined;
}

/** Ids in name order: names, unlike ids, follow from the seed. */
const existingIds = () =>
  [...model.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((target) => target.id);
const pick = <T>(items: readonly T[], index: number): T | undefined =>
  items.length === 0 ? undefined : items[index % items.length];

// ---------------------------------------------------------------- sending and checking

interface Received {
  status: number;
  contentType: string;
  headers: Record<string, unknown>;
  body: any;
  text: string;
}

type Payload = { json: unknown } | { raw: string; contentType?: string } | undefined;

class Mismatch extends Error {}

function check(condition: unknown, message: () => string): asserts condition {
  if (!condition) throw new Mismatch(message());
}

function describeRequest(method: string, url: string, payload: Payload): string {
  const body =
    payload === undefined
      ? ''
      : 'json' in payload
        ? ` ${truncate(JSON.stringify(payload.json))}`
        : ` [${payload.contentType ?? 'no content-type'}] ${truncate(JSON.stringify(payload.raw))}`;
  return `${method} ${truncate(url)}${body}`;
}

function truncate(text: string | undefined, max = 600): string {
  if (text === undefined) return 'undefined';
  return text.length > max ? `${text.slice(0, max)}…(${text.length} chars)` : text;
}

/**
 * Sends one request and checks what holds for every response: no 5xx, the response matches openapi.yaml, and
 * every 4xx is a problem document whose `errors` name fields under body, query or path.
 */
async function send(
  operationId: OperationId,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  payload: Payload,
  options: { setup?: boolean; specPath?: string } = {},
): Promise<Received> {
  const headers: Record<string, string> = method === 'GET' ? {} : { ...AUTH };
  let body: string | undefined;
  if (payload && 'json' in payload) {
    body = JSON.stringify(payload.json);
    headers['content-type'] = 'application/json';
  } else if (payload) {
    body = payload.raw;
    if (payload.contentType !== undefined) headers['content-type'] = payload.contentType;
  }
  const response = await vitals.app
    .getHttpAdapter()
    .getInstance()
    .inject({ method, url, headers, ...(body === undefined ? {} : { payload: body }) });
  if (options.setup) setupRequests++;
  else counts[operationId]++;
  statuses[`${operationId} ${response.statusCode}`] = (statuses[`${operationId} ${response.statusCode}`] ?? 0) + 1;

  const what = () => `${describeRequest(method, url, payload)}\n→ ${response.statusCode} ${truncate(response.body)}`;
  const contentType = String(response.headers['content-type'] ?? '');
  let parsed: unknown = response.body;
  if (/json/.test(contentType) && response.body !== '') {
    try {
      parsed = JSON.parse(response.body);
    } catch {
      throw new Mismatch(`response is not JSON although ${contentType}: ${what()}`);
    }
  }
  // The model follows every change before anything is checked, so a failed check leaves it true to the database.
  if (operationId === 'createTarget' && response.statusCode === 201) remember(parsed as Target);
  if (operationId === 'updateTarget' && response.statusCode === 200) remember(parsed as Target);
  if (operationId === 'deleteTarget' && response.statusCode === 204) {
    forget(decodeURIComponent(url.split('?')[0].split('/').pop()!).toLowerCase());
  }
  check(response.statusCode < 500, () => `5xx: ${what()}`);
  try {
    assertMatchesSpec(method, options.specPath ?? url.split('?')[0], {
      status: response.statusCode,
      contentType,
      body: parsed,
    });
  } catch (error) {
    throw new Mismatch(`${(error as Error).message}\n${what()}`);
  }
  if (response.statusCode >= 400) {
    check(/^application\/problem\+json\b/.test(contentType), () => `4xx without application/problem+json: ${what()}`);
    const problem = parsed as { status?: unknown; errors?: unknown };
    check(problem.status === response.statusCode, () => `problem.status differs from the status: ${what()}`);
    check(Array.isArray(problem.errors) && problem.errors.length > 0, () => `problem without errors: ${what()}`);
    for (const error of problem.errors as Array<{ path?: unknown; message?: unknown }>) {
      check(
        typeof error.path === 'string' &&
          /^(body|query|path)(\.|$)/.test(error.path) &&
          typeof error.message === 'string',
        () => `error entry does not name a field under body, query or path: ${JSON.stringify(error)}\n${what()}`,
      );
    }
  }
  return { status: response.statusCode, contentType, headers: response.headers, body: parsed, text: response.body };
}

/**
 * What a request must get: a status and, for problems, the fields that must be named. Each entry of `named` is
 * a set of alternatives; one of them must be the path of an error or a prefix of one at a dot.
 */
interface Expected {
  status: number;
  named?: string[][];
  why: string;
}

function namedPaths(received: Received): string[] {
  return ((received.body?.errors ?? []) as Array<{ path: string }>).map((error) => error.path);
}

/** Equal as JSON: same values, key order and prototypes aside (jsonb reorders keys). */
function sameJson(a: unknown, b: unknown): boolean {
  const canonical = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(canonical)
      : typeof value === 'object' && value !== null
        ? Object.fromEntries(
            Object.entries(value)
              .filter(([, item]) => item !== undefined)
              .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
              .map(([key, item]) => [key, canonical(item)]),
          )
        : value;
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

const covers = (expected: string, actual: string) => actual === expected || actual.startsWith(`${expected}.`);

function expectOutcome(received: Received, expected: Expected, context: () => string): void {
  const got = () =>
    `expected ${expected.status} (${expected.why})${expected.named ? ` naming ${JSON.stringify(expected.named)}` : ''}, got ${received.status} ${truncate(received.text)}\n${context()}`;
  check(received.status === expected.status, got);
  for (const alternatives of expected.named ?? []) {
    const paths = namedPaths(received);
    check(
      alternatives.some((path) => paths.some((actual) => covers(path, actual))),
      got,
    );
  }
}

// ---------------------------------------------------------------- oracles for the rules the schemas do not express

const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** `1h30m` → 5400000; undefined when not a duration or beyond safe integers. */
function durationMs(text: string): number | undefined {
  if (!/^([0-9]+(ms|s|m|h|d))+$/.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/([0-9]+)(ms|s|m|h|d)/g)) total += Number(amount) * UNIT_MS[unit];
  return Number.isSafeInteger(total) ? total : undefined;
}

const MIN_INTERVAL = 1000;
const MAX_INTERVAL = 86_400_000;
const DEFAULT_INTERVAL = 30_000;
const DEFAULT_TIMEOUT = 10_000;

const denyCidrs = DEFAULT_DENY_CIDRS.split(',').map((cidr) => ipaddr.parseCIDR(cidr));

function addressDenied(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
  return denyCidrs.some(
    ([network, bits]) =>
      network.kind() === ip.kind() && (ip as { match(n: unknown, b: number): boolean }).match(network, bits),
  );
}

/** Why the server must refuse `url` under its rules, or undefined. */
function urlRuleBroken(url: string): string | undefined {
  if (!URL.canParse(url)) return 'unparseable';
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'not http';
  const host = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  const addresses = ipaddr.isValid(host) ? [host] : testResolve(host);
  return addresses.some(addressDenied) ? 'denied' : undefined;
}

function regexCompiles(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

/** Strings PostgreSQL cannot store, which the server refuses naming them: NUL and unpaired surrogates. */
function unstorable(text: string): boolean {
  return text.includes('\0') || Buffer.from(text, 'utf8').toString('utf8') !== text;
}

function unstorablePaths(location: string, value: unknown, into: string[] = []): string[] {
  if (typeof value === 'string') {
    if (unstorable(value)) into.push(location);
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => unstorablePaths(`${location}.${index}`, item, into));
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      if (unstorable(key)) into.push(`${location}.${key}`);
      unstorablePaths(`${location}.${key}`, item, into);
    }
  }
  return into;
}

/** JSON a body parser must refuse (prototype poisoning): a `__proto__` key or `constructor.prototype`. */
function poisoned(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(poisoned);
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(value).some(
    ([key, item]) =>
      key === '__proto__' ||
      (key === 'constructor' && typeof item === 'object' && item !== null && Object.hasOwn(item, 'prototype')) ||
      poisoned(item),
  );
}

type Body = Record<string, any>;

/** What creating `body` (valid for the schema) must give, and for a patch of `stored`, what patching must. */
function expectedWrite(body: Body, stored: Target | undefined, selfId?: string): Expected {
  const bad = unstorablePaths('body', body);
  if (bad.length > 0) return { status: 400, named: bad.map((path) => [path]), why: 'unstorable strings' };
  const named: string[][] = [];
  const interval =
    body.interval !== undefined ? durationMs(body.interval) : stored ? durationMs(stored.interval) : DEFAULT_INTERVAL;
  if (interval === undefined || interval < MIN_INTERVAL || interval > MAX_INTERVAL) named.push(['body.interval']);
  const timeout =
    body.timeout !== undefined
      ? durationMs(body.timeout)
      : stored
        ? durationMs(stored.timeout)
        : Math.min(DEFAULT_TIMEOUT, interval ?? DEFAULT_TIMEOUT);
  if (timeout === undefined || timeout < 1) named.push(['body.timeout']);
  else if (interval !== undefined && timeout > interval) named.push(['body.timeout', 'body.interval']);
  for (const name of Object.keys(body.labels ?? {})) if (name.startsWith('__')) named.push([`body.labels.${name}`]);
  for (const [name, value] of Object.entries(body.headers ?? {})) {
    if (/[\r\n\0]/.test(value as string)) named.push([`body.headers.${name}`]);
  }
  if (body.bodyMatch && typeof body.bodyMatch.regex === 'string' && !regexCompiles(body.bodyMatch.regex)) {
    named.push(['body.bodyMatch.regex']);
  }
  if (body.url !== undefined && urlRuleBroken(body.url)) named.push(['body.url']);
  if (named.length > 0) return { status: 400, named, why: 'a rule beyond the schema' };
  if (body.name !== undefined) {
    const owner = nameOwner(body.name);
    if (owner !== undefined && owner !== selfId) return { status: 409, named: [['body.name']], why: 'name taken' };
  }
  return { status: stored ? 200 : 201, why: 'valid' };
}

/** The URL as shown back: its password redacted. */
function shownUrl(url: string): string {
  const parsed = new URL(url);
  if (!parsed.password) return url;
  parsed.password = '<redacted>';
  return parsed.toString();
}

function checkStored(target: Target, body: Body, before: Target | undefined, context: () => string): void {
  const same = (a: unknown, b: unknown, field: string) =>
    check(sameJson(a, b), () => `${field}: stored ${JSON.stringify(a)}, expected ${JSON.stringify(b)}\n${context()}`);
  const wanted = (field: string, fallback: unknown) => (body[field] !== undefined ? body[field] : fallback);
  same(target.name, wanted('name', before?.name), 'name');
  same(target.kind, wanted('kind', before?.kind), 'kind');
  if (body.url !== undefined) same(target.url, shownUrl(body.url), 'url');
  else same(target.url, before?.url, 'url');
  const interval =
    body.interval !== undefined ? durationMs(body.interval) : before ? durationMs(before.interval) : DEFAULT_INTERVAL;
  same(durationMs(target.interval), interval, 'interval');
  const timeout =
    body.timeout !== undefined
      ? durationMs(body.timeout)
      : before
        ? durationMs(before.timeout)
        : Math.min(DEFAULT_TIMEOUT, interval!);
  same(durationMs(target.timeout), timeout, 'timeout');
  same(target.labels, wanted('labels', before?.labels ?? {}), 'labels');
  same(target.enabled, wanted('enabled', before?.enabled ?? true), 'enabled');
  same(target.method, wanted('method', before?.method ?? 'GET'), 'method');
  same(target.sampleLimit, wanted('sampleLimit', before?.sampleLimit ?? 0), 'sampleLimit');
  const expectedStatus =
    body.expectedStatus === undefined ? before?.expectedStatus : (body.expectedStatus ?? undefined);
  same(target.expectedStatus, expectedStatus, 'expectedStatus');
  const bodyMatch = body.bodyMatch === undefined ? before?.bodyMatch : (body.bodyMatch ?? undefined);
  same(target.bodyMatch, bodyMatch, 'bodyMatch');
  if (body.headers !== undefined) {
    const sent = body.headers as Record<string, string>;
    same(Object.keys(target.headers).sort(), Object.keys(sent).sort(), 'header names');
    for (const [name, value] of Object.entries(target.headers)) {
      check(value === sent[name] || value === '<redacted>', () => `header ${name} shown as ${value}\n${context()}`);
    }
  } else {
    same(target.headers, before?.headers ?? {}, 'headers');
  }
  same(target.origin, 'api', 'origin');
  if (before) {
    same(target.id, before.id, 'id');
    same(target.createdAt, before.createdAt, 'createdAt');
    check(Date.parse(target.updatedAt) >= Date.parse(before.updatedAt), () => `updatedAt went back\n${context()}`);
  }
}

// ---------------------------------------------------------------- generators

/** Spells `ms` as a duration in one of several ways (`90000ms`, `1m30s`, `0h1m30s`). */
function spellDuration(ms: number, style: number): string {
  if (style % 3 === 0) return `${ms}ms`;
  let rest = ms;
  let text = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms']) {
    const amount = Math.floor(rest / UNIT_MS[unit]);
    rest -= amount * UNIT_MS[unit];
    if (amount > 0 || (style % 3 === 2 && unit === 'h')) text += `${amount}${unit}`;
  }
  return text || '0ms';
}

/** Durations valid as an interval (1s to 1d), spelled variously. */
const intervalLike = fc
  .tuple(
    fc.oneof(
      fc.integer({ min: MIN_INTERVAL, max: MAX_INTERVAL }),
      fc.constantFrom(MIN_INTERVAL, MAX_INTERVAL, DEFAULT_INTERVAL, DEFAULT_TIMEOUT, 60_000),
      fc.integer({ min: 1, max: 1440 }).map((minutes) => minutes * 60_000),
    ),
    fc.nat(),
  )
  .map(([ms, style]) => spellDuration(ms, style));

const schemeCase = (url: string, flips: boolean[]) => {
  const colon = url.indexOf(':');
  const scheme = [...url.slice(0, colon)].map((c, i) => (flips[i] ? c.toUpperCase() : c)).join('');
  return scheme + url.slice(colon);
};

/** http(s) URLs the server should accept: real authorities (names, IPv4 in all spellings, IPv6, ports, users). */
const targetUrl = fc
  .tuple(
    fc.webUrl({
      validSchemes: ['http', 'https'],
      authoritySettings: { withIPv4: true, withIPv4Extended: true, withIPv6: true, withPort: true, withUserInfo: true },
      withQueryParameters: true,
      withFragments: true,
    }),
    fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
  )
  .map(([url, flips]) => schemeCase(url, flips))
  .filter((url) => isValid(SCHEMA.url, url) && urlRuleBroken(url) === undefined);

const hostLabel = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/);
const byte = fc.nat(255);

/** URLs into TARGET_DENY_CIDRS, by address in any spelling or by a name resolving there. */
const deniedUrl = fc
  .tuple(
    fc.oneof(
      fc.tuple(byte, byte).map(([a, b]) => `169.254.${a}.${b}`),
      fc.tuple(byte, byte, byte).map(([a, b, c]) => `0.${a}.${b}.${c}`),
      fc.constant('100.100.100.200'),
      fc.integer({ min: 0xa9fe0000, max: 0xa9feffff }).map(String),
      fc.integer({ min: 0xa9fe0000, max: 0xa9feffff }).map((n) => `0x${n.toString(16)}`),
      fc
        .tuple(fc.integer({ min: 0xfe80, max: 0xfebf }), fc.nat(0xffff))
        .map(([a, b]) => `[${a.toString(16)}::${b.toString(16)}]`),
      fc.constant('[fd00:ec2::254]'),
      fc.tuple(byte, byte).map(([a, b]) => `[::ffff:169.254.${a}.${b}]`),
      hostLabel.map((label) => `${label}.metadata.test`),
      hostLabel.map((label) => `${label}.multi.test`),
      hostLabel.map((label) => `${label}.mapped.test`),
    ),
    fc.constantFrom('http', 'https', 'HTTP'),
    fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
    fc.webPath(),
  )
  .map(([host, scheme, port, path]) => `${scheme}://${host}${port === undefined ? '' : `:${port}`}${path}`)
  .filter((url) => isValid(SCHEMA.url, url) && urlRuleBroken(url) === 'denied');

/** Schema-valid URLs that are not URLs at all. */
const unparseableUrl = fc
  .oneof(
    fc.constantFrom(
      'http://%zz/',
      'http://[::1',
      'http://a:99999/',
      'https://xn--a/',
      'http://a b',
      'http://[fe80::1%eth0]/',
      'http://1.2.3.4.5/',
    ),
    fc.stringMatching(/^[hH][tT][tT][pP][sS]?:\/\/[^\s/?#]+/, { maxLength: 60 }),
  )
  .filter((url) => isValid(SCHEMA.url, url) && !URL.canParse(url));

const overrides = {
  '#/components/schemas/TargetUrl': targetUrl,
  '#/components/schemas/Duration': intervalLike,
};

/** A suffix that makes generated names unique, so most valid creations do not collide. */
const nameSuffix = fc.stringMatching(/^[a-z0-9]{8}$/);

/** Valid for the schema and for the rules around it: labels not reserved, headers on one line, regexes that compile. */
function respectRules(body: Body, stored?: Target): Body {
  const out: Body = { ...body };
  if (out.labels)
    out.labels = Object.fromEntries(Object.entries(out.labels).filter(([name]) => !name.startsWith('__')));
  if (out.headers) {
    out.headers = Object.fromEntries(
      Object.entries(out.headers as Record<string, string>).map(([name, value]) => [
        name,
        value.replace(/[\r\n\0]/g, ''),
      ]),
    );
  }
  if (out.bodyMatch && typeof out.bodyMatch.regex === 'string' && !regexCompiles(out.bodyMatch.regex)) {
    const escaped = out.bodyMatch.regex.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
    out.bodyMatch = schemaLength(escaped) <= 4096 && regexCompiles(escaped) ? { regex: escaped } : { contains: 'ok' };
  }
  const interval =
    out.interval !== undefined ? durationMs(out.interval)! : stored ? durationMs(stored.interval)! : DEFAULT_INTERVAL;
  const timeout =
    out.timeout !== undefined
      ? durationMs(out.timeout)!
      : stored
        ? durationMs(stored.timeout)!
        : Math.min(DEFAULT_TIMEOUT, interval);
  if (timeout > interval) {
    if (out.interval !== undefined && out.timeout !== undefined)
      [out.interval, out.timeout] = [out.timeout, out.interval];
    else if (out.timeout !== undefined) out.timeout = spellDuration(interval, timeout);
    else out.timeout = out.interval;
  }
  return out;
}

const validCreateBody = fc
  .tuple(arbitraryFromSchema(SCHEMA.create, { overrides }) as fc.Arbitrary<Body>, nameSuffix)
  .map(([body, suffix]) => respectRules({ ...body, name: `${body.name.slice(0, 119)}-${suffix}` }));

const validPatchBody = fc
  .tuple(arbitraryFromSchema(SCHEMA.patch, { overrides }) as fc.Arbitrary<Body>, nameSuffix)
  .map(([body, suffix]) =>
    body.name === undefined ? body : { ...body, name: `${body.name.slice(0, 119)}-${suffix}` },
  );

/** Schema-invalid bodies: a valid one with one thing broken, and the path of what was broken. */
const invalidCreateBody = invalidArbitraryFromSchema(SCHEMA.create, { overrides });
const invalidPatchBody = invalidArbitraryFromSchema(SCHEMA.patch, { overrides });

/** Breaks one rule the schema cannot express; the result stays schema-valid. */
function ruleBreaker(forPatch: boolean): fc.Arbitrary<(body: Body) => Body> {
  const set = (field: string, value: unknown) => (body: Body) => withProperty(body, field, value);
  return fc.oneof(
    fc
      .integer({ min: 1, max: 999 })
      .map((ms) => (body: Body) => ({ ...body, interval: `${ms}ms`, timeout: `${ms}ms` })),
    fc
      .constantFrom('2d', '25h', '86400001ms', '1441m', '999999999d', '99999999999999999s')
      .filter((text) => isValid(SCHEMA.duration, text))
      .map((text) => set('interval', text)),
    fc
      .tuple(fc.integer({ min: MIN_INTERVAL, max: MAX_INTERVAL - 1 }), fc.integer({ min: 1, max: 3_600_000 }), fc.nat())
      .map(([interval, over, style]) => (body: Body) => ({
        ...body,
        interval: spellDuration(interval, style),
        timeout: spellDuration(interval + over, style + 1),
      })),
    fc.constantFrom('0ms', '0s', '0d0h').map((text) => set('timeout', text)),
    ...(forPatch
      ? []
      : [
          fc
            .integer({ min: DEFAULT_INTERVAL + 1, max: MAX_INTERVAL })
            .map((ms) => (body: Body) => ({ ...withoutDurations(body), timeout: `${ms}ms` })),
        ]),
    fc
      .stringMatching(/^__[a-zA-Z0-9_]{0,10}$/)
      .map((name) => (body: Body) => ({ ...body, labels: withProperty(body.labels ?? {}, name, 'x') })),
    fc
      .tuple(
        fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/),
        fc.constantFrom('\r\n', '\n', '\r', '\u0000'),
        fc.string({ maxLength: 5 }),
      )
      .filter(([, breaker]) => breaker !== '\u0000')
      .map(([name, breaker, rest]) => (body: Body) => ({
        ...body,
        headers: withProperty(body.headers ?? {}, name, `a${breaker}Injected: ${rest}`),
      })),
    fc
      .constantFrom('(', '[', '*', '\\', 'a{2,1}', '(?<', '[z-a]', '(?<n>a)(?<n>b)', 'a**', '\\k<x>')
      .filter((regex) => !regexCompiles(regex))
      .map((regex) => set('bodyMatch', { regex })),
    deniedUrl.map((url) => set('url', url)),
    unparseableUrl.map((url) => set('url', url)),
  );
}

function withoutDurations(body: Body): Body {
  const { interval: _interval, timeout: _timeout, ...rest } = body;
  return rest;
}

/** Puts a string PostgreSQL cannot store into one string of the body. */
const unstorableString = fc.tuple(fc.constantFrom('\u0000', '\ud800', '\udfff'), fc.nat());

function injectUnstorable(body: Body, [bad, at]: [string, number]): { body: Body; path: string } {
  const clone = structuredClone(body) as Body;
  const holders: Array<[Record<string, unknown>, string, string]> = [];
  const walk = (value: unknown, path: string) => {
    if (typeof value !== 'object' || value === null) return;
    for (const [key, item] of Object.entries(value)) {
      if (typeof item === 'string') holders.push([value as Record<string, unknown>, key, `${path}.${key}`]);
      else walk(item, `${path}.${key}`);
    }
  };
  walk(clone, 'body');
  const [holder, key, path] = pick(holders, at)!;
  holder[key] = `${holder[key] as string}${bad}`;
  return { body: clone, path };
}

/** Bodies that are not JSON objects of the right media type. */
type RawPayload = { raw: string; contentType?: string; expect: readonly number[] };
const rawPayload: fc.Arbitrary<RawPayload> = fc.oneof(
  fc
    .string({ unit: anyUnit, maxLength: 40 })
    .filter((text) => {
      try {
        JSON.parse(text);
        return false;
      } catch {
        return true;
      }
    })
    .map((raw) => ({ raw, contentType: 'application/json', expect: [400] })),
  fc
    .constantFrom(
      '{"name":',
      '{"a":1}}',
      "{'name':'x'}",
      '[1,]',
      'NaN',
      '{"a":01}',
      '\ufeff{}',
      '{"__proto__":{"x":1}}',
      '{"a":{"constructor":{"prototype":{}}}}',
    )
    .map((raw) => ({ raw, contentType: 'application/json; charset=utf-8', expect: [400] })),
  fc.constant({ raw: '', contentType: 'application/json', expect: [400] }),
  fc
    .tuple(
      anyJson(),
      fc.constantFrom(
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/xml',
        'application/vnd.api+json',
        'multipart/form-data; boundary=x',
      ),
    )
    .map(([json, contentType]) => ({ raw: JSON.stringify(json) ?? 'null', contentType, expect: [400, 415] })),
  anyJson().map((json) => ({ raw: JSON.stringify(json) ?? 'null', expect: [400, 415] })),
  fc.constant({
    raw: JSON.stringify({ name: 'x', pad: 'a'.repeat(1_100_000) }),
    contentType: 'application/json',
    expect: [413],
  }),
);

/** Unreserved characters stay, the rest is percent-encoded as UTF-8 (`all`: everything is). */
function percentEncode(text: string, style: 'component' | 'all' | 'plus' = 'component'): string {
  let out = '';
  for (const char of Buffer.from(text, 'utf8').toString('utf8')) {
    if (style !== 'all' && /^[A-Za-z0-9\-_.~]$/.test(char)) out += char;
    else if (style === 'plus' && char === ' ') out += '+';
    else out += [...Buffer.from(char, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  }
  return out;
}

/** What the server decodes from a percent-encoded string: unpaired surrogates became U+FFFD on the wire. */
const asReceived = (text: string) => Buffer.from(text, 'utf8').toString('utf8');

const encodingStyle = fc.constantFrom('component', 'all', 'plus') as fc.Arbitrary<'component' | 'all' | 'plus'>;

/** Query strings nobody would write: reserved characters, escapes valid and broken, unicode, repeated keys. */
const rawQuery = fc.string({
  unit: fc.oneof(
    { weight: 6, arbitrary: asciiUnit },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        '&',
        '=',
        '&&',
        '==',
        '%',
        '%2',
        '%zz',
        '%41',
        '%00',
        '%E2%98%83',
        '%ED%A0%80',
        '%C3',
        '+',
        ';',
        '[',
        ']',
        '[]',
        '?',
        '#',
        '/',
      ),
    },
    { weight: 2, arbitrary: fc.constantFrom(...listParameters.map((p) => `${p.name}=`)) },
    { weight: 1, arbitrary: anyUnit },
  ),
  maxLength: 30,
});

/** A query parameter no operation declares; near misses of the declared names included. */
function unknownParameter(declared: string[]): fc.Arbitrary<string> {
  return fc
    .oneof(
      fc.string({ unit: anyUnit, maxLength: 10 }),
      ...(declared.length > 0
        ? [
            fc.constantFrom(...declared).map((name) => name.toUpperCase()),
            fc.constantFrom(...declared).map((name) => `${name} `),
            fc.constantFrom(...declared).map((name) => `${name}[]`),
            fc.constantFrom(...declared).map((name) => `${name}s`),
          ]
        : []),
      fc.constantFrom('__proto__', 'constructor', 'toString', 'id', ''),
    )
    .filter((name) => !declared.includes(asReceived(name)));
}

/** Ids for the item operations: stored, deleted, unknown uuids, and strings that are no uuid at all. */
type IdChoice =
  | { kind: 'existing'; pick: number; upper: boolean }
  | { kind: 'deleted'; pick: number }
  | { kind: 'unknown'; id: string }
  | { kind: 'malformed'; id: string; style: 'component' | 'all' | 'raw' };

/**
 * The id as a path segment: percent-encoded (`component`, `all`), or `raw`: only what would change the path
 * itself is encoded (`/ ? # \`, controls and spaces, which URL parsers strip or split on), so unicode and `%`
 * reach the server as typed.
 */
function pathSegment(id: string, style: 'component' | 'all' | 'raw'): string {
  if (style !== 'raw') return percentEncode(id, style);
  return [...id]
    .map((char) => (/^[\/?#\\\u0000-\u0020\u007f]$/.test(char) ? percentEncode(char, 'all') : char))
    .join('');
}

/** Segments a URL parser resolves as `.` or `..` before sending: they are not ids. */
const dotSegment = (segment: string) => /^(\.|%2e){1,2}$/i.test(segment);

const malformedId = fc
  .oneof(
    invalidArbitraryFromSchema(idSchema).map(({ value }) =>
      typeof value === 'string' ? value : (JSON.stringify(value) ?? ''),
    ),
    fc.string({ unit: anyUnit, maxLength: 40 }),
    fc.string({ unit: anyUnit, minLength: 90, maxLength: 140 }),
  )
  .map(asReceived)
  .filter((id) => !isValid(idSchema, id));

function idChoice(weights: {
  existing: number;
  deleted: number;
  unknown: number;
  malformed: number;
}): fc.Arbitrary<IdChoice> {
  const options = [
    {
      weight: weights.existing,
      arbitrary: fc.record({ kind: fc.constant('existing' as const), pick: fc.nat(), upper: fc.boolean() }),
    },
    { weight: weights.deleted, arbitrary: fc.record({ kind: fc.constant('deleted' as const), pick: fc.nat() }) },
    { weight: weights.unknown, arbitrary: fc.record({ kind: fc.constant('unknown' as const), id: fc.uuid() }) },
    {
      weight: weights.malformed,
      arbitrary: fc
        .record({
          kind: fc.constant('malformed' as const),
          id: malformedId,
          style: fc.constantFrom('component', 'all', 'raw') as fc.Arbitrary<'component' | 'all' | 'raw'>,
        })
        .filter(({ id, style }) => !dotSegment(pathSegment(id, style))),
    },
  ];
  return fc.oneof(...options.filter((option) => option.weight > 0));
}

interface ResolvedId {
  segment: string;
  id: string;
  state: 'stored' | 'absent' | 'malformed';
}

function resolveId(choice: IdChoice, candidates: string[] = existingIds()): ResolvedId {
  if (choice.kind === 'existing') {
    const id = pick(candidates, choice.pick);
    if (id) return { segment: choice.upper ? id.toUpperCase() : id, id, state: 'stored' };
    return {
      segment: '00000000-0000-4000-8000-000000000000',
      id: '00000000-0000-4000-8000-000000000000',
      state: 'absent',
    };
  }
  if (choice.kind === 'deleted') {
    const id = pick(deleted, choice.pick) ?? '00000000-0000-4000-8000-000000000001';
    return { segment: id, id, state: 'absent' };
  }
  if (choice.kind === 'unknown')
    return { segment: choice.id, id: choice.id, state: model.has(choice.id) ? 'stored' : 'absent' };
  return { segment: pathSegment(choice.id, choice.style), id: choice.id, state: 'malformed' };
}

/** Sometimes a query string on an operation that declares none: every parameter is unknown. */
const strayQuery: fc.Arbitrary<[string, string, 'component' | 'all' | 'plus'] | undefined> = fc.oneof(
  { weight: 7, arbitrary: fc.constant(undefined) },
  {
    weight: 1,
    arbitrary: fc.tuple(
      unknownParameter([]).filter((name) => name !== ''),
      fc.string({ unit: anyUnit, maxLength: 8 }),
      encodingStyle,
    ),
  },
);

function strayQueryString(stray: [string, string, 'component' | 'all' | 'plus'] | undefined): string {
  if (!stray) return '';
  const [name, value, style] = stray;
  return `?${percentEncode(name, style)}=${percentEncode(value, style)}`;
}

function itemExpectation(
  resolved: ResolvedId,
  stray: [string, string, string] | undefined,
  whenStored: Expected,
): Expected {
  // A segment that is not valid percent-encoding is refused by the router before anything else is read.
  if (resolved.state === 'malformed' && badPercentInPath(resolved.segment)) {
    return { status: 400, named: [['path']], why: 'invalid URL path' };
  }
  const named: string[][] = [];
  if (resolved.state === 'malformed') named.push(['path.id']);
  if (stray) named.push([`query.${asReceived(stray[0])}`]);
  if (named.length > 0) return { status: 400, named, why: 'malformed id or unknown query parameter' };
  if (resolved.state === 'absent') return { status: 404, named: [['path.id']], why: 'no such target' };
  return whenStored;
}

const itemUrl = (resolved: ResolvedId, stray: [string, string, 'component' | 'all' | 'plus'] | undefined) =>
  `${COLLECTION}/${resolved.segment}${strayQueryString(stray)}`;

/** openapi.yaml's path for assertMatchesSpec; an empty id leaves no segment to match the template with. */
const specPathOf = (resolved: ResolvedId) =>
  resolved.segment === '' ? ITEM_TEMPLATE : `${COLLECTION}/${resolved.segment}`;

async function keepStock(minimum: number): Promise<void> {
  while (model.size < minimum) await createFixture();
}

// ---------------------------------------------------------------- list queries

interface ListQuery {
  /** name → raw values, in order, before encoding. */
  entries: Array<[string, string]>;
  style: 'component' | 'all' | 'plus';
}

/** Values for the declared parameters, from their schemas (the cursor comes from the server instead). */
const declaredNames = listParameters.map((parameter) => parameter.name);
const parameterSchema = (name: string) => listParameters.find((parameter) => parameter.name === name)!.schema;

function serialise(name: string, value: unknown): string[] {
  return Array.isArray(value) ? value.map((item) => String(item)) : [String(value)];
}

const validListParameters = fc.record(
  Object.fromEntries(
    listParameters
      .filter((parameter) => parameter.name !== 'cursor')
      .map((parameter) => [parameter.name, arbitraryFromSchema(parameter.schema, { maxCollectionSize: 3 })]),
  ),
  { requiredKeys: [] },
);

type ListCase =
  | {
      kind: 'valid';
      params: Record<string, unknown>;
      labelPicks: Array<[number, number]>;
      cursorPick: number | undefined;
      style: ListQuery['style'];
    }
  | {
      kind: 'invalid';
      params: Record<string, unknown>;
      name: string;
      values: string[];
      style: ListQuery['style'];
      mutation: string;
    }
  | { kind: 'unknown'; params: Record<string, unknown>; name: string; value: string; style: ListQuery['style'] }
  | { kind: 'repeated'; params: Record<string, unknown>; name: string; values: string[]; style: ListQuery['style'] }
  | { kind: 'forged-cursor'; cursor: string; style: ListQuery['style'] }
  | { kind: 'raw'; query: string };

/** Strings the server must refuse for parameter `name` (query values are coerced to the declared type first). */
function invalidQueryValues(name: string): fc.Arbitrary<{ values: string[]; mutation: string }> {
  const schema = parameterSchema(name) as JsonSchema;
  const asArray = schema.type === 'array';
  const refused = (values: string[]) =>
    (!asArray && values.length > 1) ||
    !isValid(
      { type: 'object', properties: { [name]: schema } },
      { [name]: asArray ? values : values[0] },
      { coerce: true },
    );
  const fromSchema = invalidArbitraryFromSchema(schema).map(({ value, mutation }) => ({
    values: Array.isArray(value)
      ? value.map((item) => (typeof item === 'string' ? item : JSON.stringify(item)))
      : [typeof value === 'string' ? value : JSON.stringify(value)],
    mutation,
  }));
  const anyString = fc
    .string({ unit: anyUnit, maxLength: 12 })
    .map((value) => ({ values: [value], mutation: 'any string' }));
  return fc
    .oneof(fromSchema, anyString)
    .map(({ values, mutation }) => ({ values: values.map(asReceived), mutation }))
    .filter(({ values }) => values.length > 0 && refused(values));
}

const listCase: fc.Arbitrary<ListCase> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('valid' as const),
      params: validListParameters,
      labelPicks: fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 3 }),
      cursorPick: fc.option(fc.nat(), { freq: 2, nil: undefined }),
      style: encodingStyle,
    }),
  },
  {
    weight: 5,
    arbitrary: fc
      .constantFrom(...declaredNames)
      .chain((name) =>
        fc.record({
          kind: fc.constant('invalid' as const),
          params: validListParameters,
          name: fc.constant(name),
          bad: invalidQueryValues(name),
          style: encodingStyle,
        }),
      )
      .map(({ bad, ...rest }) => ({ ...rest, values: bad.values, mutation: bad.mutation })),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('unknown' as const),
      params: validListParameters,
      name: unknownParameter(declaredNames),
      value: fc.string({ unit: anyUnit, maxLength: 8 }),
      style: encodingStyle,
    }),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(
        ...listParameters.filter((parameter) => parameter.schema.type !== 'array').map((parameter) => parameter.name),
      )
      .chain((name) =>
        fc.record({
          kind: fc.constant('repeated' as const),
          params: validListParameters,
          name: fc.constant(name),
          values: fc
            .array(arbitraryFromSchema(parameterSchema(name)), { minLength: 2, maxLength: 3 })
            .map((values) => values.map(String)),
          style: encodingStyle,
        }),
      ),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('forged-cursor' as const),
      cursor: fc
        .oneof(
          fc.string({ unit: anyUnit, maxLength: 20 }).map((after) => JSON.stringify({ after })),
          fc.constantFrom(
            '{}',
            '{"after":1}',
            'null',
            '[]',
            '"x"',
            '{"after":null}',
            '{"before":"a"}',
            '{"after":"a\\u0000"}',
          ),
        )
        .map((json) => Buffer.from(json).toString('base64url')),
      style: encodingStyle,
    }),
  },
  { weight: 2, arbitrary: rawQuery.map((query) => ({ kind: 'raw' as const, query })) },
);

function queryString(entries: Array<[string, string]>, style: ListQuery['style']): string {
  return entries.map(([name, value]) => `${percentEncode(name, style)}=${percentEncode(value, style)}`).join('&');
}

function baseEntries(params: Record<string, unknown>, without: string[] = []): Array<[string, string]> {
  return Object.entries(params)
    .filter(([name, value]) => value !== undefined && !without.includes(name))
    .flatMap(([name, value]) => serialise(name, value).map((item): [string, string] => [name, item]));
}

/** The page the server must answer with, computed from the model. */
function expectedPage(filters: { kind?: string; enabled?: boolean; labels: string[]; limit: number; after?: string }) {
  const wanted = filters.labels.map((filter) => [
    filter.slice(0, filter.indexOf(':')),
    filter.slice(filter.indexOf(':') + 1),
  ]);
  const matching = [...model.values()]
    .filter((target) => filters.kind === undefined || target.kind === filters.kind)
    .filter((target) => filters.enabled === undefined || target.enabled === filters.enabled)
    .filter((target) =>
      wanted.every(([key, value]) => Object.hasOwn(target.labels, key) && target.labels[key] === value),
    )
    .filter((target) => filters.after === undefined || target.name > filters.after)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { items: matching.slice(0, filters.limit), more: matching.length > filters.limit };
}

// ---------------------------------------------------------------- the properties

const context = (what: unknown) => () => `case: ${truncate(JSON.stringify(what), 1500)}`;

describe('arbitraries generated from openapi.yaml', () => {
  // The component schemas the targets operations use, directly or through other schemas.
  const reachable = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (typeof node !== 'object' || node === null) return;
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') {
        const schema = /^#\/components\/schemas\/(.+)$/.exec(value)?.[1];
        if (schema !== undefined) {
          if (reachable.has(schema)) continue;
          reachable.add(schema);
        }
        visit(resolveRef(document, { $ref: value }));
      } else {
        visit(value);
      }
    }
  };
  targetOperations.forEach(({ operation, pathItem }) => visit([operation, pathItem.parameters ?? []]));
  const schemas = [...reachable].sort();

  it.each(schemas)('%s: generated values are valid, mutated ones are refused', (name) => {
    fc.assert(
      fc.property(arbitraryFromSchema(componentSchema(name)), (value) => {
        check(isValid(componentSchema(name), throughJson(value)), () => `${name}: generated ${JSON.stringify(value)}`);
      }),
      { ...runParameters, numRuns: 50 },
    );
    fc.assert(
      fc.property(invalidArbitraryFromSchema(componentSchema(name)), ({ value, mutation }) => {
        check(
          !isValid(componentSchema(name), value),
          () => `${name}: "${mutation}" left ${JSON.stringify(value)} valid`,
        );
      }),
      { ...runParameters, numRuns: 50 },
    );
  });
});

describe('targets API under generated requests', () => {
  type BodyCase =
    | { kind: 'valid'; body: Body }
    | { kind: 'taken'; body: Body; pick: number }
    | { kind: 'rule'; body: Body; breaker: (body: Body) => Body }
    | { kind: 'unstorable'; body: Body; bad: [string, number] }
    | { kind: 'invalid'; value: unknown; path: string[]; mutation: string }
    | { kind: 'random'; value: unknown }
    | ({ kind: 'raw' } & RawPayload);

  function bodyCase(forPatch: boolean): fc.Arbitrary<BodyCase> {
    const valid = forPatch ? validPatchBody : validCreateBody;
    const invalid = forPatch ? invalidPatchBody : invalidCreateBody;
    return fc.oneof(
      { weight: 7, arbitrary: valid.map((body) => ({ kind: 'valid' as const, body })) },
      {
        weight: 1,
        arbitrary: fc.tuple(validCreateBody, fc.nat()).map(([body, pick]) => ({ kind: 'taken' as const, body, pick })),
      },
      {
        weight: 3,
        arbitrary: fc
          .tuple(valid, ruleBreaker(forPatch))
          .map(([body, breaker]) => ({ kind: 'rule' as const, body, breaker })),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(validCreateBody, unstorableString)
          .map(([body, bad]) => ({ kind: 'unstorable' as const, body, bad })),
      },
      {
        weight: 6,
        arbitrary: invalid.map(({ value, path, mutation }) => ({ kind: 'invalid' as const, value, path, mutation })),
      },
      { weight: 2, arbitrary: anyJson().map((value) => ({ kind: 'random' as const, value })) },
      { weight: 1, arbitrary: rawPayload.map((raw) => ({ kind: 'raw' as const, ...raw })) },
    );
  }

  /**
   * The payload to send for a body case and what it must get when the target exists (`stored`; undefined for
   * a creation). `valid` is set when a success is expected, to check what was stored.
   */
  function prepare(
    bodyCase: BodyCase,
    stored: Target | undefined,
  ): { payload: Payload; expected: Expected; valid?: Body } {
    const forPatch = stored !== undefined;
    const schema = forPatch ? SCHEMA.patch : SCHEMA.create;
    const judged = (body: Body, why: string) => {
      if (!isValid(schema, body)) throw new Error(`generator bug: ${why} body is not valid: ${JSON.stringify(body)}`);
      if (poisoned(body)) {
        // Valid for the schema (e.g. a header named __proto__), but Fastify's JSON parser refuses such keys.
        return {
          payload: { json: body },
          expected: { status: 400, named: [['body']], why: `${why}: a __proto__ key` },
        };
      }
      const expected = expectedWrite(body, stored, stored?.id);
      return { payload: { json: body }, expected: { ...expected, why: `${why}: ${expected.why}` }, valid: body };
    };
    switch (bodyCase.kind) {
      case 'valid':
        return judged(respectRules(bodyCase.body, stored), 'valid');
      case 'taken': {
        const other = pick(
          [...model.values()].filter((target) => target.id !== stored?.id),
          bodyCase.pick,
        );
        const body = forPatch
          ? { name: other?.name ?? bodyCase.body.name }
          : { ...bodyCase.body, name: other?.name ?? bodyCase.body.name };
        return judged(body, 'name of another target');
      }
      case 'rule':
        return judged(bodyCase.breaker(bodyCase.body), 'a rule broken');
      case 'unstorable': {
        // Wherever it lands, that field is refused: as unstorable, and maybe also for its pattern or enum.
        const source = forPatch
          ? { labels: bodyCase.body.labels ?? {}, url: bodyCase.body.url, name: bodyCase.body.name }
          : bodyCase.body;
        const { body, path } = injectUnstorable(source, bodyCase.bad);
        // A `__proto__` key (a valid header name) gets the body refused by the JSON parser before that.
        const named = poisoned(body) ? [['body']] : [[path]];
        return { payload: { json: body }, expected: { status: 400, named, why: 'an unstorable string' } };
      }
      case 'invalid': {
        const named = poisoned(bodyCase.value) ? [['body']] : [[['body', ...bodyCase.path].join('.')]];
        return { payload: { json: bodyCase.value }, expected: { status: 400, named, why: bodyCase.mutation } };
      }
      case 'random':
        if (isValid(schema, bodyCase.value)) return judged(bodyCase.value as Body, 'random but valid');
        return { payload: { json: bodyCase.value }, expected: { status: 400, named: [['body']], why: 'random JSON' } };
      case 'raw':
        return {
          payload: { raw: bodyCase.raw, contentType: bodyCase.contentType },
          expected: {
            status: bodyCase.expect[0],
            named: [['body']],
            why: `raw payload (${bodyCase.expect.join(' or ')})`,
          },
        };
    }
  }

  function statusAllowed(bodyCase: BodyCase, expected: Expected, response: Received): Expected {
    // A non-JSON media type is refused either by the parser (415) or, for text Fastify parses, by validation (400).
    if (bodyCase.kind === 'raw' && bodyCase.expect.includes(response.status))
      return { ...expected, status: response.status };
    return expected;
  }

  it('createTarget', async () => {
    await fc.assert(
      fc.asyncProperty(bodyCase(false), async (bodyCase) => {
        tally(`createTarget ${bodyCase.kind}`);
        const { payload, expected, valid } = prepare(bodyCase, undefined);
        if (bodyCase.kind === 'valid') validCreates.sent++;
        const response = await send('createTarget', 'POST', COLLECTION, payload);
        expectOutcome(response, statusAllowed(bodyCase, expected, response), context(bodyCase));
        if (response.status === 201) {
          if (bodyCase.kind === 'valid') validCreates.created++;
          const target = response.body as Target;
          check(
            response.headers.location === `${COLLECTION}/${target.id}`,
            () => `Location ${response.headers.location}`,
          );
          checkStored(target, valid!, undefined, context(bodyCase));
        }
      }),
      { ...runParameters, numRuns: RUNS },
    );
  });

  it('getTarget', async () => {
    await fc.assert(
      fc.asyncProperty(
        idChoice({ existing: 6, deleted: 2, unknown: 2, malformed: 4 }),
        strayQuery,
        async (choice, stray) => {
          tally(`getTarget ${choice.kind}${stray ? '+query' : ''}`);
          const resolved = resolveId(choice);
          const expected = itemExpectation(resolved, stray, { status: 200, why: 'stored' });
          const response = await send('getTarget', 'GET', itemUrl(resolved, stray), undefined, {
            specPath: specPathOf(resolved),
          });
          expectOutcome(response, expected, context({ choice, stray, resolved }));
          if (response.status === 200) {
            check(
              sameJson(response.body, model.get(resolved.id)),
              () => `read ${response.text}, model has ${JSON.stringify(model.get(resolved.id))}`,
            );
          }
        },
      ),
      { ...runParameters, numRuns: RUNS },
    );
  });

  it('updateTarget', async () => {
    await fc.assert(
      fc.asyncProperty(
        idChoice({ existing: 12, deleted: 1, unknown: 1, malformed: 2 }),
        bodyCase(true),
        async (choice, bodyCase) => {
          tally(`updateTarget ${bodyCase.kind}`);
          tally(`updateTarget id ${choice.kind}`);
          await keepStock(6);
          const resolved = resolveId(choice);
          const stored = resolved.state === 'stored' ? model.get(resolved.id)! : undefined;
          // Judge the body as a patch of the stored target, or of some target when the id names none.
          const { payload, expected, valid } = prepare(bodyCase, stored ?? [...model.values()][0]);
          let outcome: Expected;
          if (resolved.state === 'malformed' && badPercentInPath(resolved.segment)) {
            // The router refuses the URL before the body is even read.
            outcome = { status: 400, named: [['path']], why: 'invalid URL path' };
          } else if (bodyCase.kind === 'raw' || ('json' in payload! && poisoned(payload.json))) {
            // Refused by the body parser, before anything else is looked at (or by validation, naming the body).
            outcome = expected;
          } else if (!valid || unstorablePaths('body', valid).length > 0) {
            // Refused by validation against openapi.yaml, which also checks the id, before the target is looked up.
            const id = resolved.state === 'malformed' ? [['path.id']] : [];
            outcome = { ...expected, named: [...(expected.named ?? []), ...id] };
          } else {
            outcome = itemExpectation(resolved, undefined, expected);
          }
          if (bodyCase.kind === 'valid' && resolved.state === 'stored') validPatches.sent++;
          const response = await send('updateTarget', 'PATCH', itemUrl(resolved, undefined), payload, {
            specPath: specPathOf(resolved),
          });
          expectOutcome(response, statusAllowed(bodyCase, outcome, response), context({ choice, bodyCase, resolved }));
          if (response.status === 200) {
            if (bodyCase.kind === 'valid' && resolved.state === 'stored') validPatches.updated++;
            checkStored(response.body as Target, valid!, stored, context({ choice, bodyCase }));
          }
        },
      ),
      { ...runParameters, numRuns: RUNS },
    );
  });

  it('listTargets', async () => {
    await fc.assert(
      fc.asyncProperty(listCase, async (listCase) => {
        tally(`listTargets ${listCase.kind}`);
        if (listCase.kind === 'raw') {
          const response = await send('listTargets', 'GET', `${COLLECTION}?${listCase.query}`, undefined);
          check([200, 400].includes(response.status), () => `raw query answered ${response.status}: ${response.text}`);
          if (response.status === 400) {
            for (const path of namedPaths(response)) check(path.startsWith('query'), () => `raw query blamed ${path}`);
          }
          return;
        }
        if (listCase.kind === 'forged-cursor') {
          const response = await send(
            'listTargets',
            'GET',
            `${COLLECTION}?cursor=${percentEncode(listCase.cursor, listCase.style)}`,
            undefined,
          );
          // A cursor is opaque: one the server did not issue is either refused naming it or, if it decodes, used.
          check(
            [200, 400].includes(response.status),
            () => `forged cursor answered ${response.status}: ${response.text}`,
          );
          if (response.status === 400)
            expectOutcome(
              response,
              { status: 400, named: [['query.cursor']], why: 'forged cursor' },
              context(listCase),
            );
          return;
        }
        if (listCase.kind === 'valid') {
          const labels = ((listCase.params.label as string[] | undefined) ?? []).map(asReceived);
          for (const [targetPick, labelPick] of listCase.labelPicks) {
            const target = pick([...model.values()], targetPick);
            const entry = target ? pick(Object.entries(target.labels), labelPick) : undefined;
            if (entry) labels.push(`${entry[0]}:${entry[1]}`);
          }
          const cursor = listCase.cursorPick === undefined ? undefined : pick([...cursors.keys()], listCase.cursorPick);
          const entries = baseEntries(listCase.params, ['label']);
          for (const label of labels) entries.push(['label', label]);
          if (cursor !== undefined) entries.push(['cursor', cursor]);
          const response = await send(
            'listTargets',
            'GET',
            `${COLLECTION}?${queryString(entries, listCase.style)}`,
            undefined,
          );
          const bad = labels
            .map((label, index) => (unstorable(label) ? [`query.label.${index}`] : undefined))
            .filter(Boolean) as string[][];
          if (labels.length > 32) bad.push(['query.label']);
          if (bad.length > 0) {
            expectOutcome(
              response,
              { status: 400, named: bad, why: 'labels the server refuses' },
              context({ listCase, labels }),
            );
            return;
          }
          expectOutcome(response, { status: 200, why: 'valid query' }, context({ listCase, labels, cursor }));
          const limit = (listCase.params.limit as number | undefined) ?? 100;
          const wanted = expectedPage({
            kind: listCase.params.kind as string | undefined,
            enabled: listCase.params.enabled as boolean | undefined,
            labels,
            limit,
            after: cursor === undefined ? undefined : cursors.get(cursor),
          });
          const got = (response.body.items as Target[]).map((target) => target.name);
          check(
            JSON.stringify(got) === JSON.stringify(wanted.items.map((target) => target.name)),
            () =>
              `page differs from the model: got ${JSON.stringify(got)}, expected ${JSON.stringify(wanted.items.map((t) => t.name))}\n${context({ listCase, labels, cursor })()}`,
          );
          for (const item of response.body.items as Target[]) {
            check(
              sameJson(item, model.get(item.id)),
              () => `listed ${JSON.stringify(item)} differs from ${JSON.stringify(model.get(item.id))}`,
            );
          }
          check(
            (response.body.nextCursor !== null) === wanted.more,
            () => `nextCursor ${response.body.nextCursor} but more=${wanted.more}`,
          );
          if (response.body.nextCursor !== null) cursors.set(response.body.nextCursor, got[got.length - 1]);
          return;
        }
        if (listCase.kind === 'invalid') {
          const entries = baseEntries(listCase.params, [listCase.name]);
          for (const value of listCase.values) entries.push([listCase.name, value]);
          const response = await send(
            'listTargets',
            'GET',
            `${COLLECTION}?${queryString(entries, listCase.style)}`,
            undefined,
          );
          const others = entries.filter(([name]) => name !== listCase.name);
          const extra = others.flatMap(([name, value]) => (unstorable(value) ? [[`query.${name}`]] : []));
          expectOutcome(
            response,
            { status: 400, named: [[`query.${listCase.name}`], ...extra], why: listCase.mutation },
            context(listCase),
          );
          return;
        }
        if (listCase.kind === 'unknown') {
          const entries = baseEntries(listCase.params);
          entries.push([listCase.name, listCase.value]);
          const response = await send(
            'listTargets',
            'GET',
            `${COLLECTION}?${queryString(entries, listCase.style)}`,
            undefined,
          );
          expectOutcome(
            response,
            { status: 400, named: [[`query.${asReceived(listCase.name)}`]], why: 'unknown parameter' },
            context(listCase),
          );
          return;
        }
        const entries = baseEntries(listCase.params, [listCase.name]);
        for (const value of listCase.values) entries.push([listCase.name, value]);
        const response = await send(
          'listTargets',
          'GET',
          `${COLLECTION}?${queryString(entries, listCase.style)}`,
          undefined,
        );
        expectOutcome(
          response,
          { status: 400, named: [[`query.${listCase.name}`]], why: 'a single-valued parameter repeated' },
          context(listCase),
        );
      }),
      { ...runParameters, numRuns: RUNS },
    );
  });

  it('deleteTarget', async () => {
    await fc.assert(
      fc.asyncProperty(
        idChoice({ existing: 5, deleted: 2, unknown: 2, malformed: 3 }),
        strayQuery,
        async (choice, stray) => {
          tally(`deleteTarget ${choice.kind}${stray ? '+query' : ''}`);
          await keepStock(6);
          const resolved = resolveId(choice);
          const expected = itemExpectation(resolved, stray, { status: 204, why: 'stored' });
          const response = await send('deleteTarget', 'DELETE', itemUrl(resolved, stray), undefined, {
            specPath: specPathOf(resolved),
          });
          expectOutcome(response, expected, context({ choice, stray, resolved }));
          if (response.status === 204) {
            check(response.text === '', () => `204 with a body: ${response.text}`);
          }
        },
      ),
      { ...runParameters, numRuns: RUNS },
    );
  });

  it('checkTarget', async () => {
    // A check probes the target's URL for real: only fixtures, on a closed loopback port, are checked.
    const probeable = () => existingIds().filter((id) => model.get(id)!.url.startsWith('http://127.0.0.1:9/'));
    await fc.assert(
      fc.asyncProperty(
        idChoice({ existing: 5, deleted: 2, unknown: 2, malformed: 3 }),
        strayQuery,
        async (choice, stray) => {
          tally(`checkTarget ${choice.kind}${stray ? '+query' : ''}`);
          if (probeable().length === 0) await createFixture();
          const resolved = resolveId(choice, probeable());
          const expected = itemExpectation(resolved, stray, { status: 200, why: 'stored' });
          const url = `${COLLECTION}/${resolved.segment}/check${strayQueryString(stray)}`;
          const specPath = resolved.segment === '' ? `${ITEM_TEMPLATE}/check` : url.split('?')[0];
          const response = await send('checkTarget', 'POST', url, undefined, { specPath });
          expectOutcome(response, expected, context({ choice, stray, resolved }));
          if (response.status === 200) {
            check(response.body.targetId === resolved.id, () => `checked ${response.text} for ${resolved.id}`);
            check(response.body.up === false, () => `a closed port answered: ${response.text}`);
          }
        },
      ),
      { ...runParameters, numRuns: RUNS },
    );
  });

  it('sent enough generated requests to every targets operation, and most valid writes succeeded', () => {
    const summary = { counts, setupRequests, validCreates, validPatches, statuses, cases };
    if (process.env.VITALS_PROPERTY_STATS) process.stdout.write(`targets property test: ${JSON.stringify(summary)}\n`);
    const minimum = Math.min(300, RUNS);
    expect(targetOperations.map(({ operation }) => operation.operationId).sort()).toEqual(Object.keys(counts).sort());
    for (const [operationId, sent] of Object.entries(counts)) {
      expect({ operationId, sent: sent >= minimum }).toEqual({ operationId, sent: true });
    }
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(Math.min(1000, 5 * RUNS));
    // Valid bodies respect the rules and get unique names: nearly all must be accepted.
    expect(validCreates.created / validCreates.sent).toBeGreaterThan(0.8);
    expect(validPatches.updated / validPatches.sent).toBeGreaterThan(0.8);
  });
});
