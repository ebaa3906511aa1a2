import type { ErrorObject, ValidateFunction } from 'ajv';
import type { FieldError } from '../problem/problem';
import { ProblemException } from '../problem/problem';
import { anchored, createAjv } from './schema-compiler';
import { listOperations, resolveRef, toRouterPath, type OpenApiDocument, type OpenApiParameter } from './spec';

interface CompiledOperation {
  operationId: string;
  /** Query parameters in `deepObject` style: `match[job]=api` arrives as the key `match[job]`. */
  deepObjects: string[];
  params?: ValidateFunction;
  query?: ValidateFunction;
  /** Body validators by media type (`application/json`, `text/csv`, ...). */
  bodies: Map<string, ValidateFunction>;
  bodyRequired: boolean;
}

export interface IncomingRequest {
  params: unknown;
  query: unknown;
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
}

/** Turns one Ajv error into `{path, message}` naming the field, e.g. `body.interval`. */
function toFieldError(location: string, error: ErrorObject): FieldError {
  const segments = error.instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
  const params = error.params as Record<string, unknown>;
  let message = error.message ?? 'is invalid';
  if (error.keyword === 'required') {
    segments.push(String(params.missingProperty));
    message = 'is required';
  } else if (error.keyword === 'additionalProperties') {
    segments.push(String(params.additionalProperty));
    message = 'is not a known field';
  } else if (error.keyword === 'propertyNames' || params.propertyName !== undefined) {
    if (params.propertyName !== undefined) segments.push(String(params.propertyName));
    message = `is not an allowed name: ${message}`;
  } else if (error.keyword === 'enum') {
    message = `must be one of ${(params.allowedValues as unknown[]).map((value) => JSON.stringify(value)).join(', ')}`;
  }
  return { path: [location, ...segments].join('.'), message };
}

function collect(location: string, validate: ValidateFunction | undefined, value: unknown, into: FieldError[]): void {
  if (!validate || validate(value)) return;
  for (const error of validate.errors ?? []) {
    // `propertyNames` reports the name twice (once per failing keyword inside it); keep the readable one.
    if (error.keyword === 'propertyNames' && error.params && !('propertyName' in error.params)) continue;
    const field = toFieldError(location, error);
    if (!into.some((seen) => seen.path === field.path && seen.message === field.message)) into.push(field);
  }
}

/** Moves `name[key]=value` query entries into `query.name = {key: value}`, in place. */
function foldDeepObjects(query: Record<string, unknown>, names: string[]): void {
  for (const key of Object.keys(query)) {
    const match = /^([^[\]]+)\[([^[\]]*)\]$/.exec(key);
    if (!match || !names.includes(match[1])) continue;
    const target = (query[match[1]] ??= {}) as Record<string, unknown>;
    if (typeof target === 'object' && target !== null && !Array.isArray(target)) target[match[2]] = query[key];
    delete query[key];
  }
}

/**
 * PostgreSQL's text and jsonb cannot hold NUL characters or unpaired UTF-16 surrogates (`\ud800` in JSON), so
 * such strings are refused here, naming the field, rather than failing in the database.
 */
function collectUnstorable(location: string, value: unknown, into: FieldError[]): void {
  if (typeof value === 'string') {
    if (value.includes('\0') || !value.isWellFormed()) {
      into.push({ path: location, message: 'must not contain NUL characters or unpaired surrogates' });
    }
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => collectUnstorable(`${location}.${index}`, item, into));
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      collectUnstorable(`${location}.${key}`, key, into);
      collectUnstorable(`${location}.${key}`, item, into);
    }
  }
}

/**
 * Validates each request against its operation in `openapi.yaml` before any handler runs. Query and path
 * values are coerced to their declared types in place (`limit=5` becomes the number 5); defaults are filled.
 */
export class RequestValidator {
  private readonly operations = new Map<string, CompiledOperation>();

  constructor(document: OpenApiDocument) {
    const loose = createAjv(document, { coerce: true });
    const exact = createAjv(document, { coerce: false });
    for (const { path, method, operation, pathItem } of listOperations(document)) {
      const parameters = [...(pathItem.parameters ?? []), ...(operation.parameters ?? [])].map((parameter) =>
        resolveRef<OpenApiParameter>(document, parameter),
      );
      const objectSchema = (location: 'path' | 'query', closed: boolean) => {
        const own = parameters.filter((parameter) => parameter.in === location);
        if (own.length === 0 && !closed) return undefined;
        return loose.compile(
          anchored({
            type: 'object',
            properties: Object.fromEntries(own.map((parameter) => [parameter.name, parameter.schema])),
            required: own
              .filter((parameter) => parameter.required || location === 'path')
              .map((parameter) => parameter.name),
            additionalProperties: !closed,
          }),
        );
      };
      const bodies = new Map(
        Object.entries(operation.requestBody?.content ?? {}).map(([mediaType, { schema }]) => [
          mediaType,
          exact.compile(anchored(schema)),
        ]),
      );
      this.operations.set(`${method.toUpperCase()} ${toRouterPath(path)}`, {
        operationId: operation.operationId,
        params: objectSchema('path', false),
        // Unknown query parameters are refused: a typo such as `?knd=http` must not silently list everything.
        query: objectSchema('query', true),
        bodies,
        bodyRequired: operation.requestBody?.required ?? false,
        deepObjects: parameters
          .filter((parameter) => parameter.in === 'query' && (parameter as { style?: string }).style === 'deepObject')
          .map((parameter) => parameter.name),
      });
    }
  }

  /** The operation behind a route, or undefined for routes the document does not describe. */
  operationId(method: string, routeUrl: string): string | undefined {
    return this.operations.get(`${method} ${routeUrl}`)?.operationId;
  }

  /** Throws a 400 problem listing every offending field. */
  validate(method: string, routeUrl: string, request: IncomingRequest): void {
    const operation = this.operations.get(`${method} ${routeUrl}`);
    if (!operation) return;
    const errors: FieldError[] = [];
    if (operation.deepObjects.length > 0 && request.query)
      foldDeepObjects(request.query as Record<string, unknown>, operation.deepObjects);
    collect('path', operation.params, request.params, errors);
    collect('query', operation.query, request.query ?? {}, errors);
    if (request.body === undefined || request.body === null) {
      if (operation.bodyRequired) errors.push({ path: 'body', message: 'is required (a JSON object)' });
    } else {
      const mediaType = String(request.headers['content-type'] ?? 'application/json')
        .split(';')[0]
        .trim()
        .toLowerCase();
      const validate = operation.bodies.get(mediaType);
      if (!validate && operation.bodies.size > 0) {
        throw ProblemException.of(
          'unsupported-media-type',
          `Send the body as ${[...operation.bodies.keys()].join(' or ')}.`,
          [{ path: 'body', message: `must be ${[...operation.bodies.keys()].join(' or ')}` }],
        );
      }
      collect('body', validate, request.body, errors);
    }
    collectUnstorable('path', request.params, errors);
    collectUnstorable('query', request.query, errors);
    collectUnstorable('body', request.body, errors);
    if (errors.length > 0) {
      const summary = errors.map((error) => `${error.path} ${error.message}`).join('; ');
      throw ProblemException.of('validation', `The request is invalid: ${summary}`, errors);
    }
  }
}
