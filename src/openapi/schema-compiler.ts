import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { OpenApiDocument } from './spec';

const DOCUMENT_ID = 'openapi.json';

/**
 * An Ajv instance holding the whole document, so `#/components/...` references inside any schema resolve.
 * OpenAPI-only keywords (example, discriminator, xml, externalDocs) are accepted and ignored.
 */
export function createAjv(document: OpenApiDocument, options: { coerce: boolean }): Ajv2020 {
  const ajv = new Ajv2020({
    allErrors: true,
    strict: false,
    useDefaults: options.coerce,
    coerceTypes: options.coerce ? 'array' : false,
  });
  addFormats(ajv);
  ajv.addSchema(document as unknown as Record<string, unknown>, DOCUMENT_ID);
  return ajv;
}

/** Rewrites `#/...` references so a schema cut out of the document still points into it. */
export function anchored<T>(schema: T): T {
  return JSON.parse(
    JSON.stringify(schema, (key, value: unknown) =>
      key === '$ref' && typeof value === 'string' && value.startsWith('#/') ? `${DOCUMENT_ID}${value}` : value,
    ),
  ) as T;
}
