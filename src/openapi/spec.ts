import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';

/** The parts of an OpenAPI 3.1 document that Vitals reads. */
export interface OpenApiParameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema: Record<string, unknown>;
}
export interface OpenApiOperation {
  operationId: string;
  parameters?: Array<OpenApiParameter | { $ref: string }>;
  requestBody?: { required?: boolean; content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, { $ref: string } | { content?: Record<string, { schema: Record<string, unknown> }> }>;
}
export type OpenApiPathItem = Record<string, OpenApiOperation> & { parameters?: OpenApiOperation['parameters'] };
export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, OpenApiPathItem>;
  components: Record<string, Record<string, unknown>>;
}

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

/** Where the document lives: the repository root, two levels above this file in both src/ and dist/. */
export const SPEC_PATH = resolve(__dirname, '..', '..', 'openapi.yaml');

let cached: { text: string; document: OpenApiDocument } | undefined;

export function loadSpec(): { text: string; document: OpenApiDocument } {
  if (!cached) {
    const text = readFileSync(SPEC_PATH, 'utf8');
    cached = { text, document: parse(text) as OpenApiDocument };
  }
  return cached;
}

/** Follows a local `#/a/b/c` reference inside the document. */
export function resolveRef<T>(document: OpenApiDocument, value: T | { $ref: string }): T {
  if (typeof value !== 'object' || value === null || !('$ref' in value)) return value as T;
  const found = value.$ref
    .replace(/^#\//, '')
    .split('/')
    .reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], document);
  return resolveRef(document, found as T);
}

/** Every operation with its path template (`/api/v1/targets/{id}`) and lower-case method. */
export function listOperations(
  document: OpenApiDocument,
): Array<{ path: string; method: string; operation: OpenApiOperation; pathItem: OpenApiPathItem }> {
  return Object.entries(document.paths).flatMap(([path, pathItem]) =>
    HTTP_METHODS.filter((method) => pathItem[method]).map((method) => ({
      path,
      method,
      operation: pathItem[method],
      pathItem,
    })),
  );
}

/** `/api/v1/targets/{id}` → `/api/v1/targets/:id`, the router's spelling. */
export function toRouterPath(path: string): string {
  return path.replace(/\{([^}]+)\}/g, ':$1');
}
