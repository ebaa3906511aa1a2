import type { ValidateFunction } from 'ajv';
import { anchored, createAjv } from '../../src/openapi/schema-compiler';
import { listOperations, loadSpec, resolveRef, type OpenApiOperation } from '../../src/openapi/spec';

const { document } = loadSpec();
const ajv = createAjv(document, { coerce: false });
const compiled = new Map<string, ValidateFunction>();

const operations = listOperations(document).map(({ path, method, operation }) => ({
  method: method.toUpperCase(),
  operation,
  pattern: new RegExp(`^${path.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+')}$`),
}));

/** The operation a concrete request path belongs to. */
export function findOperation(method: string, path: string): OpenApiOperation | undefined {
  const bare = path.split('?')[0];
  return operations.find((entry) => entry.method === method && entry.pattern.test(bare))?.operation;
}

export interface ReceivedResponse {
  status: number;
  contentType: string;
  body: unknown;
}

/**
 * Checks one response a test received against openapi.yaml: the status is declared for the operation, the
 * media type matches and the body validates against the declared schema. Throws with the reason otherwise.
 */
export function assertMatchesSpec(method: string, path: string, response: ReceivedResponse): void {
  const operation = findOperation(method, path);
  if (!operation) throw new Error(`${method} ${path}: no operation in openapi.yaml`);
  const declared = operation.responses[String(response.status)] ?? operation.responses.default;
  if (!declared) {
    throw new Error(`${method} ${path} answered ${response.status}, which ${operation.operationId} does not declare`);
  }
  const content = resolveRef<{ content?: Record<string, { schema: unknown }> }>(document, declared).content;
  if (!content) {
    if (response.body !== undefined && response.body !== '' && Object.keys(response.body ?? {}).length > 0) {
      throw new Error(`${method} ${path} ${response.status}: declared without a body but one was sent`);
    }
    return;
  }
  const mediaType = response.contentType.split(';')[0].trim();
  const entry = content[mediaType];
  if (!entry) {
    throw new Error(
      `${method} ${path} ${response.status}: media type ${mediaType} is not among ${Object.keys(content).join(', ')}`,
    );
  }
  const key = `${operation.operationId} ${response.status} ${mediaType}`;
  let validate = compiled.get(key);
  if (!validate) {
    validate = ajv.compile(anchored(entry.schema) as object);
    compiled.set(key, validate);
  }
  if (!validate(response.body)) {
    throw new Error(
      `${method} ${path} ${response.status}: body does not match openapi.yaml: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(response.body)}`,
    );
  }
}
