import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for the YouTrack REST API, on 127.0.0.1 and a free port. It answers the way YouTrack does where Vitals
 * depends on it:
 * - `GET /api/issues?query=&fields=&$top=&$skip=`: without `$top` only 42 issues; the `fields` projection is applied
 *   (entities always carry `$type`; an entity asked for without sub-fields comes back as `{ $type, id }`); the
 *   query understands `project: KEY`, `updated: <date> .. <date|*>` (dates in the token owner's time zone, see
 *   `timeZoneOffsetMinutes`), `sort by: created|updated asc|desc`, and answers 400 to anything else;
 * - `GET /api/issues/{idReadable or id}/activities?categories=&fields=&$top=&$skip=` (categories are required);
 * - `Authorization: Bearer <token>` or 401 `{ error, error_description }`; tokens in `forbiddenTokens` get 403;
 * - failure injection for the next requests: 429 with Retry-After, 5xx, a truncated JSON body, some other JSON,
 *   a reset connection, a slow answer;
 * - counts of requests per path, and the last requests with their parameters.
 */
export class FakeYouTrack {
  readonly token: string;
  readonly forbiddenTokens = new Set<string>();
  issues: FakeIssue[] = [];
  /** Sprints of one agile board, served at /api/agiles (start and finish as epoch milliseconds). */
  sprints: Array<{ name: string; start?: number; finish?: number }> = [];
  /** The token owner's time zone: dates in queries are local to it (UTC+offset). */
  timeZoneOffsetMinutes = 0;
  readonly hits = new Map<string, number>();
  readonly requests: FakeRequest[] = [];
  base = '';
  private server?: Server;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly failures: Array<{ failure: FakeFailure; remaining: number; pathPrefix: string }> = [];

  constructor(options: { token?: string; issues?: FakeIssue[] } = {}) {
    this.token = options.token ?? 'perm:dml0YWxz.c2VjcmV0.ZmFrZXRva2Vu';
    this.issues = options.issues ?? [];
  }

  /** The next `count` requests under `pathPrefix` fail this way (queued after earlier injections). */
  failNext(count: number, failure: FakeFailure, pathPrefix = '/api/'): void {
    this.failures.push({ failure, remaining: count, pathPrefix });
  }

  /** Requests whose path starts with `prefix`. */
  count(prefix: string): number {
    let sum = 0;
    for (const [path, hits] of this.hits) if (path.startsWith(prefix)) sum += hits;
    return sum;
  }

  issueListRequests(): FakeRequest[] {
    return this.requests.filter((request) => request.path === '/api/issues');
  }

  reset(): void {
    this.hits.clear();
    this.requests.length = 0;
    this.failures.length = 0;
  }

  async start(): Promise<void> {
    this.server = createServer((request, response) => this.handle(request, response));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve) ?? resolve(undefined));
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://fake');
    const path = decodeURIComponent(url.pathname);
    this.hits.set(path, (this.hits.get(path) ?? 0) + 1);
    this.requests.push({
      method: request.method ?? 'GET',
      path,
      params: url.searchParams,
      authorization: request.headers.authorization,
    });
    if (this.requests.length > 5000) this.requests.shift();

    const injected = this.failures.find((entry) => entry.remaining > 0 && path.startsWith(entry.pathPrefix));
    if (injected) {
      injected.remaining--;
      if (injected.remaining === 0) this.failures.splice(this.failures.indexOf(injected), 1);
      const failure = injected.failure;
      if (failure.kind === 'status') {
        if (failure.retryAfter !== undefined) response.setHeader('retry-after', String(failure.retryAfter));
        return sendJson(response, failure.status, {
          error: failure.status === 429 ? 'Too Many Requests' : 'Internal Server Error',
          error_description: failure.status === 429 ? 'Rate limit exceeded' : 'Something went wrong',
        });
      }
      if (failure.kind === 'json') return sendJson(response, 200, failure.body);
      if (failure.kind === 'reset') {
        request.socket.destroy();
        return;
      }
      if (failure.kind === 'delay') {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          if (!response.destroyed) this.route(request, response, url, path);
        }, failure.ms);
        this.timers.add(timer);
        return;
      }
      // 'truncated' falls through: the real answer, cut short.
      const text = this.answer(request, url, path);
      const cut = text.body.slice(0, Math.max(1, Math.floor(text.body.length / 2)));
      response.writeHead(text.status, {
        'content-type': 'application/json;charset=UTF-8',
        'content-length': Buffer.byteLength(cut),
      });
      response.end(cut);
      return;
    }
    this.route(request, response, url, path);
  }

  private route(request: IncomingMessage, response: ServerResponse, url: URL, path: string): void {
    const { status, body } = this.answer(request, url, path);
    response.writeHead(status, {
      'content-type': 'application/json;charset=UTF-8',
      'content-length': Buffer.byteLength(body),
    });
    response.end(body);
  }

  private answer(request: IncomingMessage, url: URL, path: string): { status: number; body: string } {
    const json = (status: number, value: unknown) => ({ status, body: JSON.stringify(value) });
    const authorization = request.headers.authorization ?? '';
    const match = /^Bearer (.+)$/.exec(authorization);
    if (!match || (match[1] !== this.token && !this.forbiddenTokens.has(match[1]))) {
      return json(401, { error: 'Unauthorized', error_description: 'You are not logged in.' });
    }
    if (this.forbiddenTokens.has(match[1])) {
      return json(403, { error: 'Forbidden', error_description: 'You do not have permissions to read issues.' });
    }
    if (request.method !== 'GET') return json(405, { error: 'Method Not Allowed' });

    const params = url.searchParams;
    const page = readPaging(params);
    if (typeof page === 'string') return json(400, { error: 'bad_request', error_description: page });
    const fields = parseFields(params.get('fields'));
    if (typeof fields === 'string') return json(400, { error: 'bad_request', error_description: fields });

    if (path === '/api/issues') {
      const selected = this.search(params.get('query') ?? '');
      if (typeof selected === 'string') return json(400, { error: 'invalid_query', error_description: selected });
      const slice = selected.slice(page.skip, page.skip + page.top);
      return json(
        200,
        slice.map((issue) => project(issueEntity(issue), fields)),
      );
    }
    const activities = /^\/api\/issues\/([^/]+)\/activities$/.exec(path);
    if (activities) {
      const issue = this.issues.find((item) => item.idReadable === activities[1] || item.id === activities[1]);
      if (!issue)
        return json(404, { error: 'Not Found', error_description: `Entity with id ${activities[1]} not found` });
      const categories = (params.get('categories') ?? '')
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean);
      if (categories.length === 0) {
        return json(400, { error: 'bad_request', error_description: 'Parameter categories is required' });
      }
      const items = issue.activities
        .filter((item) => categories.includes(item.category.id))
        .sort((a, b) => a.timestamp - b.timestamp)
        .slice(page.skip, page.skip + page.top);
      return json(
        200,
        items.map((item) => project(item, fields)),
      );
    }
    if (path === '/api/agiles') {
      const boards =
        this.sprints.length === 0
          ? []
          : [
              {
                $type: 'Agile',
                name: 'Board',
                sprints: this.sprints.map((sprint) => ({ $type: 'Sprint', ...sprint })),
              },
            ];
      return json(200, boards.slice(page.skip, page.skip + page.top));
    }
    return json(404, { error: 'Not Found', error_description: `No resource at ${path}` });
  }

  /** The issues matching a query, in the query's order (default: as stored). Returns an error text when unsure. */
  private search(query: string): FakeIssue[] | string {
    let rest = query;
    let result = [...this.issues];
    const take = (pattern: RegExp): RegExpExecArray | null => {
      const match = pattern.exec(rest);
      if (match) rest = rest.slice(0, match.index) + ' ' + rest.slice(match.index + match[0].length);
      return match;
    };
    const sort = take(/sort by:\s*(created|updated)(?:\s+(asc|desc))?/i);
    let project: RegExpExecArray | null;
    while ((project = take(/\bproject:\s*(\{[^}]*\}|[^\s,]+)/i))) {
      const key = project[1]
        .replace(/^\{|\}$/g, '')
        .trim()
        .toLowerCase();
      result = result.filter((issue) => issue.idReadable.toLowerCase().startsWith(`${key}-`));
    }
    let updated: RegExpExecArray | null;
    while ((updated = take(/\bupdated:\s*([^\s.]+(?:\.\d+)?)(?:\s*\.\.\s*(\S+))?/i))) {
      const from = this.queryDate(updated[1], 'start');
      const to =
        updated[2] === undefined
          ? this.queryDate(updated[1], 'end')
          : updated[2] === '*'
            ? Infinity
            : this.queryDate(updated[2], 'end');
      if (from === undefined || to === undefined) return `Cannot parse date in "${updated[0]}"`;
      result = result.filter((issue) => issue.updated >= from && issue.updated < to);
    }
    if (rest.trim() !== '') return `The fake YouTrack does not understand "${rest.trim()}"`;
    if (sort) {
      const field = sort[1].toLowerCase() as 'created' | 'updated';
      const sign = (sort[2] ?? 'desc').toLowerCase() === 'asc' ? 1 : -1;
      result.sort((a, b) => sign * (a[field] - b[field]));
    }
    return result;
  }

  /** Epoch ms of a query date (YYYY-MM-DD, YYYY-MM-DDTHH:mm[:ss]) in the owner's time zone: its start or its end. */
  private queryDate(text: string, edge: 'start' | 'end'): number | undefined {
    const match = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text);
    if (!match) return undefined;
    const [, y, mo, d, h, mi, s] = match;
    const local = Date.UTC(+y, +mo - 1, +d, +(h ?? 0), +(mi ?? 0), +(s ?? 0));
    const length = h === undefined ? 86_400_000 : s === undefined ? 60_000 : 1000;
    return local - this.timeZoneOffsetMinutes * 60_000 + (edge === 'end' ? length : 0);
  }
}

export interface FakeRequest {
  method: string;
  path: string;
  params: URLSearchParams;
  authorization?: string;
}

export type FakeFailure =
  | { kind: 'status'; status: number; retryAfter?: number | string }
  | { kind: 'truncated' }
  /** 200 with this JSON instead of the real answer. */
  | { kind: 'json'; body: unknown }
  | { kind: 'reset' }
  | { kind: 'delay'; ms: number };

/** An issue as the fake stores it: the entity YouTrack would return with every field, plus its activities. */
export interface FakeIssue {
  $type: 'Issue';
  id: string;
  idReadable: string;
  summary: string;
  created: number;
  updated: number;
  resolved: number | null;
  customFields: any[];
  activities: FakeActivity[];
}

export interface FakeActivity {
  $type: string;
  id: string;
  timestamp: number;
  category: { $type: 'ActivityCategory'; id: string };
  field: { $type: string; id: string; name: string } | null;
  added: any;
  removed: any;
  author: { $type: 'User'; login: string; fullName: string };
  targetMember: string | null;
}

type Instant = Date | number | string;

export interface MakeIssueInput {
  key: string;
  summary?: string;
  created: Instant;
  /** Defaults to the latest of created, resolved and the activities. */
  updated?: Instant;
  resolved?: Instant | null;
  /** Enum value; null leaves the field empty. */
  team?: string | null;
  type?: string | null;
  /** Current sprints; defaults to what `sprintHistory` leaves, otherwise none. */
  sprints?: string[];
  /** Number → SimpleIssueCustomField with a number; string → with a string; null → empty. */
  storyPoints?: number | string | null;
  assignee?: { login: string; fullName: string } | null;
  /** The state at creation; default 'Open'. */
  initialState?: string;
  /** State transitions after creation, in order; the last one is the current state. */
  states?: Array<{ state: string; at: Instant }>;
  /** 'state' → StateIssueCustomField, 'state-machine' → StateMachineIssueCustomField. */
  stateField?: 'state' | 'state-machine';
  /** Adds the precomputed period field: minutes, or null for an empty one; leave out for no such field. */
  leadTimeMinutes?: number | null;
  /** Sprint membership changes (SprintActivityItems); default: added to each of `sprints` at creation. */
  sprintHistory?: Array<{ sprint: string; added: boolean; at: Instant }>;
  /** Field names, when a test uses another mapping. */
  names?: Partial<Record<'team' | 'type' | 'sprint' | 'storyPoints' | 'state' | 'leadTime' | 'assignee', string>>;
}

let sequence = 0;

function ms(value: Instant): number {
  return value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(value);
}

/** An issue with custom fields and activities that agree with each other. */
export function makeIssue(input: MakeIssueInput): FakeIssue {
  const n = ++sequence;
  const names = {
    team: 'Team',
    type: 'Type',
    sprint: 'Sprint',
    storyPoints: 'Story points',
    state: 'State',
    leadTime: 'Lead time',
    assignee: 'Assignee',
    ...input.names,
  };
  const created = ms(input.created);
  const resolved = input.resolved === undefined || input.resolved === null ? null : ms(input.resolved);
  const author = { $type: 'User' as const, login: 'jane', fullName: 'Jane Doe' };
  const activities: FakeActivity[] = [];
  let activityId = 0;
  const activity = (
    kind: 'field' | 'sprint',
    at: number,
    fieldName: string | null,
    added: any,
    removed: any,
  ): FakeActivity => ({
    $type: kind === 'sprint' ? 'SprintActivityItem' : 'CustomFieldActivityItem',
    id: `${n}-${++activityId}.0-0`,
    timestamp: at,
    category: { $type: 'ActivityCategory', id: kind === 'sprint' ? 'SprintCategory' : 'CustomFieldCategory' },
    field: fieldName === null ? null : { $type: 'CustomFilterField', id: fieldName.toLowerCase(), name: fieldName },
    added,
    removed,
    author,
    targetMember: kind === 'sprint' ? null : '__CUSTOM_FIELD__' + fieldName,
  });

  let state = input.initialState ?? 'Open';
  for (const transition of input.states ?? []) {
    activities.push(
      activity(
        'field',
        ms(transition.at),
        names.state,
        [{ $type: 'StateBundleElement', id: `s-${transition.state}`, name: transition.state }],
        [{ $type: 'StateBundleElement', id: `s-${state}`, name: state }],
      ),
    );
    state = transition.state;
  }

  const history =
    input.sprintHistory?.map((entry) => ({ ...entry, at: ms(entry.at) })) ??
    (input.sprints ?? []).map((sprint) => ({ sprint, added: true, at: created }));
  const current = new Set<string>();
  for (const entry of [...history].sort((a, b) => a.at - b.at)) {
    const sprint = { $type: 'Sprint', id: `sp-${entry.sprint}`, name: entry.sprint };
    activities.push(activity('sprint', entry.at, null, entry.added ? [sprint] : [], entry.added ? [] : [sprint]));
    if (entry.added) current.add(entry.sprint);
    else current.delete(entry.sprint);
  }
  const sprints = input.sprints ?? [...current];

  const enumValue = (name: string | null | undefined) =>
    name === null || name === undefined ? null : { $type: 'EnumBundleElement', id: `e-${name}`, name };
  const customFields: any[] = [
    { $type: 'SingleEnumIssueCustomField', id: '110-1', name: names.team, value: enumValue(input.team) },
    { $type: 'SingleEnumIssueCustomField', id: '110-2', name: names.type, value: enumValue(input.type) },
    {
      $type: input.stateField === 'state-machine' ? 'StateMachineIssueCustomField' : 'StateIssueCustomField',
      id: '110-3',
      name: names.state,
      value: { $type: 'StateBundleElement', id: `s-${state}`, name: state, isResolved: resolved !== null },
    },
    {
      $type: 'SingleUserIssueCustomField',
      id: '110-4',
      name: names.assignee,
      value: input.assignee ? { $type: 'User', id: `u-${input.assignee.login}`, ...input.assignee } : null,
    },
    {
      $type: 'MultiEnumIssueCustomField',
      id: '110-5',
      name: names.sprint,
      value: sprints.map((sprint) => ({ $type: 'EnumBundleElement', id: `e-${sprint}`, name: sprint })),
    },
    { $type: 'SimpleIssueCustomField', id: '110-6', name: names.storyPoints, value: input.storyPoints ?? null },
  ];
  if (input.leadTimeMinutes !== undefined) {
    customFields.push({
      $type: 'PeriodIssueCustomField',
      id: '110-7',
      name: names.leadTime,
      value:
        input.leadTimeMinutes === null
          ? null
          : {
              $type: 'PeriodValue',
              id: `p-${n}`,
              minutes: input.leadTimeMinutes,
              presentation: presentPeriod(input.leadTimeMinutes),
            },
    });
  }

  const latest = Math.max(created, resolved ?? created, ...activities.map((item) => item.timestamp));
  return {
    $type: 'Issue',
    id: `2-${n}`,
    idReadable: input.key,
    summary: input.summary ?? `Issue ${input.key}`,
    created,
    updated: input.updated === undefined ? latest : ms(input.updated),
    resolved,
    customFields,
    activities: activities.sort((a, b) => a.timestamp - b.timestamp),
  };
}

/** YouTrack's period presentation with its default 5-day, 8-hour work week: "1w 2d 3h 4m". */
function presentPeriod(minutes: number): string {
  const units: Array<[string, number]> = [
    ['w', 5 * 8 * 60],
    ['d', 8 * 60],
    ['h', 60],
    ['m', 1],
  ];
  const parts: string[] = [];
  let rest = minutes;
  for (const [unit, size] of units) {
    const count = Math.floor(rest / size);
    if (count > 0) parts.push(`${count}${unit}`);
    rest -= count * size;
  }
  return parts.length > 0 ? parts.join(' ') : '0m';
}

function issueEntity(issue: FakeIssue): Record<string, unknown> {
  const { activities: _activities, ...entity } = issue;
  return entity;
}

/** A parsed `fields` parameter: attribute → sub-fields (null when none were asked for). */
type FieldTree = Map<string, FieldTree | null>;

function parseFields(text: string | null): FieldTree | string {
  const tree: FieldTree = new Map();
  if (text === null || text.trim() === '') return tree;
  let index = 0;
  const parseList = (into: FieldTree, nested: boolean): string | undefined => {
    for (;;) {
      const start = index;
      while (index < text.length && !',()'.includes(text[index])) index++;
      const name = text.slice(start, index).trim();
      if (name === '') return `Invalid fields parameter at ${start}`;
      if (text[index] === '(') {
        index++;
        const sub: FieldTree = new Map();
        const error = parseList(sub, true);
        if (error) return error;
        if (text[index] !== ')') return `Unclosed "(" in fields parameter`;
        index++;
        into.set(name, sub);
      } else {
        into.set(name, null);
      }
      if (text[index] === ',') {
        index++;
        continue;
      }
      if (index >= text.length) return nested ? `Unclosed "(" in fields parameter` : undefined;
      if (text[index] === ')') return nested ? undefined : `Unexpected ")" in fields parameter`;
      return `Invalid fields parameter at ${index}`;
    }
  };
  const error = parseList(tree, false);
  return error ?? tree;
}

/** YouTrack's projection: entities always carry $type; without sub-fields an entity is just `{ $type, id }`. */
function project(value: unknown, fields: FieldTree | null): unknown {
  if (Array.isArray(value)) return value.map((item) => project(item, fields));
  if (typeof value !== 'object' || value === null) return value;
  const entity = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  if (!fields || fields.size === 0) {
    if ('id' in entity) out.id = entity.id;
    out.$type = entity.$type;
    return out;
  }
  for (const [name, sub] of fields) {
    if (name in entity) out[name] = project(entity[name], sub);
  }
  out.$type = entity.$type;
  return out;
}

function readPaging(params: URLSearchParams): { top: number; skip: number } | string {
  const top = params.get('$top');
  const skip = params.get('$skip');
  const topValue = top === null ? 42 : Number(top);
  const skipValue = skip === null ? 0 : Number(skip);
  if (!Number.isInteger(topValue) || topValue < -1) return `Invalid $top: ${top}`;
  if (!Number.isInteger(skipValue) || skipValue < 0) return `Invalid $skip: ${skip}`;
  return { top: topValue === -1 ? Number.MAX_SAFE_INTEGER : topValue, skip: skipValue };
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  response.writeHead(status, {
    'content-type': 'application/json;charset=UTF-8',
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}
