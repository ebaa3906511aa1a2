import fc from 'fast-check';
import type { ValidateFunction } from 'ajv';
import { anchored, createAjv } from '../../src/openapi/schema-compiler';
import { loadSpec, resolveRef, type OpenApiDocument } from '../../src/openapi/spec';

/**
 * fast-check arbitraries generated from the JSON Schemas of openapi.yaml: `arbitraryFromSchema` yields values
 * the schema accepts, `invalidArbitraryFromSchema` yields values it refuses together with the path of the field
 * that was broken, built by mutating valid values (a dropped required property, a wrong type, an unknown
 * property, a broken pattern, a length or count over the limit, ...).
 *
 * Covers the subset of JSON Schema the document uses: `$ref`; `type` object (properties, required,
 * additionalProperties false or a schema, unevaluatedProperties false, propertyNames, minProperties, maxProperties), string (enum, pattern,
 * minLength, maxLength, format uri/uuid/date-time), integer and number (minimum, maximum, exclusive bounds),
 * boolean, null, array (items, minItems, maxItems, uniqueItems); `type: [a, b]`; `enum`, `const`; `oneOf`,
 * `anyOf` and `allOf`.
 */

export type JsonSchema = { [keyword: string]: unknown };

export interface SchemaArbitraryOptions {
  /** The document `$ref`s point into; openapi.yaml by default. */
  document?: OpenApiDocument;
  /** Arbitraries used instead of the generated ones for a `$ref`, e.g. `'#/components/schemas/TargetUrl'`. */
  overrides?: Record<string, fc.Arbitrary<unknown>>;
  /** One character of a string without pattern, enum or format. */
  stringUnit?: fc.Arbitrary<string>;
  /** Upper bound on generated maps (additionalProperties) and arrays, on top of the schema's own. */
  maxCollectionSize?: number;
}

/** What `invalidArbitraryFromSchema` yields: a value the schema refuses and where it is wrong. */
export interface InvalidValue {
  value: unknown;
  /** Location of the broken part inside the value: `['labels', 'bad-name']`; `[]` for the value itself. */
  path: string[];
  /** How it was broken, for failure messages. */
  mutation: string;
}

const ANNOTATIONS = new Set([
  'description',
  'title',
  'example',
  'examples',
  'default',
  'deprecated',
  'readOnly',
  'writeOnly',
  '$comment',
  'externalDocs',
]);

/** One printable ASCII character. */
export const asciiUnit: fc.Arbitrary<string> = fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c));

/** Characters that tend to break parsers, encoders and databases: controls, separators, combining marks, emoji. */
export const trickyCharacters = [
  '\t',
  '\n',
  '\r',
  ' ',
  '\u00a0',
  '\u0085',
  '\u2028',
  '\u2029',
  '\ufeff',
  '\u200b',
  '\u0301',
  'é',
  'ß',
  'İ',
  'ﬀ',
  '😀',
  '\u{10ffff}',
  '"',
  "'",
  '`',
  '\\',
  '/',
  '%',
  '&',
  '=',
  '?',
  '#',
  '+',
  ';',
  ':',
  ',',
  '<',
  '>',
  '{',
  '}',
  '[',
  ']',
  '$',
  '.',
  '*',
  '(',
  ')',
  '|',
];

/** Any code point except the surrogate halves, i.e. any character PostgreSQL can store except NUL. */
const storableCodePoint = fc
  .integer({ min: 1, max: 0x10ffff })
  .filter((c) => c < 0xd800 || c > 0xdfff)
  .map((c) => String.fromCodePoint(c));

/** Characters of strings meant to be stored: no NUL, no unpaired surrogate. */
export const storableUnit: fc.Arbitrary<string> = fc.oneof(
  { weight: 12, arbitrary: asciiUnit },
  { weight: 3, arbitrary: fc.constantFrom(...trickyCharacters) },
  { weight: 2, arbitrary: storableCodePoint },
);

/** Characters of strings anywhere: also NUL and unpaired surrogates. */
export const anyUnit: fc.Arbitrary<string> = fc.oneof(
  { weight: 20, arbitrary: storableUnit },
  { weight: 1, arbitrary: fc.constantFrom('\u0000', '\ud800', '\udbff', '\udc00', '\udfff') },
);

/** Length as JSON Schema counts it: code points, a surrogate pair being one. */
export function schemaLength(text: string): number {
  return [...text].length;
}

/** JSON as a client sends it: what the server receives after serialisation (undefined when not serialisable). */
export function throughJson(value: unknown): unknown {
  const text = JSON.stringify(value);
  return text === undefined ? undefined : JSON.parse(text);
}

interface Validators {
  exact: ReturnType<typeof createAjv>;
  loose: ReturnType<typeof createAjv>;
  cache: Map<string, ValidateFunction>;
}
const validators = new WeakMap<OpenApiDocument, Validators>();

/**
 * Ajv validation of `schema` exactly as the server does it: `coerce: false` for bodies, `coerce: true` for query
 * and path parameters (strings turned into their declared types). With `coerce`, the value may be changed.
 */
export function validatorFor(
  schema: unknown,
  { document = loadSpec().document, coerce = false }: { document?: OpenApiDocument; coerce?: boolean } = {},
): ValidateFunction {
  let entry = validators.get(document);
  if (!entry) {
    entry = {
      exact: createAjv(document, { coerce: false }),
      loose: createAjv(document, { coerce: true }),
      cache: new Map(),
    };
    validators.set(document, entry);
  }
  const key = `${coerce}:${JSON.stringify(schema)}`;
  let validate = entry.cache.get(key);
  if (!validate) {
    validate = (coerce ? entry.loose : entry.exact).compile(anchored(schema) as object);
    entry.cache.set(key, validate);
  }
  return validate;
}

/** True when `value` is valid for `schema` (a copy is validated, so coercion leaves `value` untouched). */
export function isValid(
  schema: unknown,
  value: unknown,
  options: { document?: OpenApiDocument; coerce?: boolean } = {},
) {
  return validatorFor(schema, options)(options.coerce ? structuredClone(value) : value) as boolean;
}

function ownKeywords(schema: JsonSchema, without: string[]): JsonSchema {
  return Object.fromEntries(
    Object.entries(schema).filter(([keyword]) => !ANNOTATIONS.has(keyword) && !without.includes(keyword)),
  );
}

/** Sets `key` as an own property (also `__proto__`), keeping the others in order. */
export function withProperty(object: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const entries = Object.entries(object).filter(([name]) => name !== key);
  return Object.fromEntries([...entries, [key, value]]);
}

export function withoutProperty(object: Record<string, unknown>, key: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([name]) => name !== key));
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Any JSON value, with strings of `anyUnit`; small. */
export function anyJson(unit: fc.Arbitrary<string> = anyUnit): fc.Arbitrary<unknown> {
  return fc.jsonValue({ maxDepth: 3, stringUnit: unit }).map(throughJson);
}

class SchemaArbitraries {
  private readonly document: OpenApiDocument;
  private readonly overrides: Record<string, fc.Arbitrary<unknown>>;
  private readonly unit: fc.Arbitrary<string>;
  private readonly maxCollection: number;
  private readonly memo = new Map<string, fc.Arbitrary<unknown>>();

  constructor(options: SchemaArbitraryOptions) {
    this.document = options.document ?? loadSpec().document;
    this.overrides = options.overrides ?? {};
    this.unit = options.stringUnit ?? storableUnit;
    this.maxCollection = options.maxCollectionSize ?? 8;
  }

  private valid(schema: unknown) {
    return (value: unknown) => isValid(schema, value, { document: this.document });
  }

  /**
   * A schema with `$ref` followed, a lone `allOf` folded in and sibling keywords merged, so that the caller sees
   * the keywords that apply at this place. `oneOf`/`anyOf` are kept.
   */
  resolve(schema: unknown): JsonSchema {
    let current = (schema ?? {}) as JsonSchema;
    for (;;) {
      if (typeof current.$ref === 'string') {
        const target = resolveRef<JsonSchema>(this.document, { $ref: current.$ref });
        current = { ...ownKeywords(current, ['$ref']), ...target };
      } else if (Array.isArray(current.allOf)) {
        const parts = (current.allOf as unknown[]).map((part) => this.resolve(part));
        const merged: JsonSchema = ownKeywords(current, ['allOf']);
        for (const part of parts) {
          for (const [keyword, value] of Object.entries(part)) {
            if (keyword === 'required' && Array.isArray(merged.required)) {
              merged.required = [...new Set([...(merged.required as string[]), ...(value as string[])])];
            } else if (keyword === 'properties' && isObject(merged.properties)) {
              merged.properties = { ...merged.properties, ...(value as JsonSchema) };
            } else {
              merged[keyword] = value;
            }
          }
        }
        // Several parts: the merge may be looser than their conjunction; generated values are checked against it.
        if (parts.length > 1) merged['x-checkAgainst'] = current;
        current = merged;
      } else {
        return current;
      }
    }
  }

  /** The branches of a oneOf/anyOf, each with the keywords around the oneOf merged in. */
  branches(schema: JsonSchema): JsonSchema[] {
    const keyword = Array.isArray(schema.oneOf) ? 'oneOf' : 'anyOf';
    const shared = ownKeywords(schema, ['oneOf', 'anyOf']);
    return (schema[keyword] as unknown[]).map((branch) => ({ ...shared, ...this.resolve(branch) }));
  }

  arbitrary(schema: unknown): fc.Arbitrary<unknown> {
    const raw = (schema ?? {}) as JsonSchema;
    if (
      typeof raw.$ref === 'string' &&
      this.overrides[raw.$ref] &&
      Object.keys(ownKeywords(raw, ['$ref'])).length === 0
    ) {
      return this.overrides[raw.$ref];
    }
    // `allOf: [{$ref}]` with only annotations around it is the referenced schema, overrides included.
    if (Array.isArray(raw.allOf) && raw.allOf.length === 1 && Object.keys(ownKeywords(raw, ['allOf'])).length === 0) {
      return this.arbitrary(raw.allOf[0]);
    }
    const key = JSON.stringify(raw);
    const known = this.memo.get(key);
    if (known) return known;
    const resolved = this.resolve(raw);
    let arbitrary = this.build(resolved);
    if (resolved['x-checkAgainst']) arbitrary = arbitrary.filter(this.valid(resolved['x-checkAgainst']));
    this.memo.set(key, arbitrary);
    return arbitrary;
  }

  private build(schema: JsonSchema): fc.Arbitrary<unknown> {
    if ('const' in schema) return fc.constant(schema.const);
    if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
    if (Array.isArray(schema.oneOf) || Array.isArray(schema.anyOf)) {
      const options = this.branches(schema).map((branch) => this.arbitrary(branch));
      const union = fc.oneof(...options);
      // oneOf means exactly one: a value valid for two branches is not valid for the union.
      return Array.isArray(schema.oneOf) ? union.filter(this.valid(schema)) : union;
    }
    if (Array.isArray(schema.type)) {
      return fc.oneof(...(schema.type as string[]).map((type) => this.arbitrary({ ...schema, type })));
    }
    switch (schema.type) {
      case 'null':
        return fc.constant(null);
      case 'boolean':
        return fc.boolean();
      case 'integer':
        return this.integer(schema);
      case 'number':
        return this.number(schema);
      case 'string':
        return this.string(schema);
      case 'array':
        return this.array(schema);
      case 'object':
        return this.object(schema);
      default:
        if (schema.properties || schema.additionalProperties !== undefined || schema.required) {
          return this.object(schema);
        }
        if (schema.items) return this.array(schema);
        return anyJson(this.unit);
    }
  }

  private integer(schema: JsonSchema): fc.Arbitrary<number> {
    const min = Math.max(
      typeof schema.minimum === 'number' ? Math.ceil(schema.minimum) : -0x80000000,
      typeof schema.exclusiveMinimum === 'number' ? Math.floor(schema.exclusiveMinimum) + 1 : -0x80000000,
    );
    const max = Math.min(
      typeof schema.maximum === 'number' ? Math.floor(schema.maximum) : 0x7fffffff,
      typeof schema.exclusiveMaximum === 'number' ? Math.ceil(schema.exclusiveMaximum) - 1 : 0x7fffffff,
    );
    // The bounds themselves are where off-by-one errors live.
    return fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min, max }) },
      { weight: 1, arbitrary: fc.constantFrom(min, max) },
    );
  }

  private number(schema: JsonSchema): fc.Arbitrary<number> {
    return fc
      .double({
        min: typeof schema.minimum === 'number' ? schema.minimum : -1e9,
        max: typeof schema.maximum === 'number' ? schema.maximum : 1e9,
        noNaN: true,
        noDefaultInfinity: true,
      })
      .map((n) => (Object.is(n, -0) ? 0 : n))
      .filter(this.valid(schema));
  }

  string(schema: JsonSchema): fc.Arbitrary<string> {
    const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0;
    const maxLength = typeof schema.maxLength === 'number' ? schema.maxLength : undefined;
    const fits = (text: string) => {
      const length = schemaLength(text);
      return length >= minLength && (maxLength === undefined || length <= maxLength);
    };
    if (typeof schema.pattern === 'string') {
      return fc.stringMatching(new RegExp(schema.pattern, 'u'), { maxLength }).filter(fits);
    }
    switch (schema.format) {
      case 'uuid':
        return fc.uuid();
      case 'date-time':
        return fc
          .date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2200-01-01T00:00:00Z'), noInvalidDate: true })
          .map((date) => date.toISOString());
      case 'uri':
        return fc.webUrl({ withQueryParameters: true, withFragments: true }).filter(fits);
      case undefined:
        break;
      default:
        throw new Error(`arbitraryFromSchema: format ${String(schema.format)} is not supported`);
    }
    const any = fc.string({ unit: this.unit, minLength, maxLength });
    if (maxLength === undefined) return any.filter(fits);
    // Strings exactly at the limit are rare otherwise; they are where the limits are checked.
    return fc
      .oneof(
        { weight: 8, arbitrary: any },
        { weight: 1, arbitrary: fc.string({ unit: this.unit, minLength: maxLength, maxLength }) },
      )
      .filter(fits);
  }

  private array(schema: JsonSchema): fc.Arbitrary<unknown[]> {
    const items = this.arbitrary(schema.items ?? {});
    const minLength = typeof schema.minItems === 'number' ? schema.minItems : 0;
    const maxLength = Math.max(
      minLength,
      Math.min(typeof schema.maxItems === 'number' ? schema.maxItems : Infinity, this.maxCollection),
    );
    if (schema.uniqueItems) {
      return fc.uniqueArray(items, { minLength, maxLength, selector: (item) => JSON.stringify(item) });
    }
    return fc.array(items, { minLength, maxLength });
  }

  private object(schema: JsonSchema): fc.Arbitrary<Record<string, unknown>> {
    const properties = (schema.properties ?? {}) as Record<string, unknown>;
    const names = Object.keys(properties);
    const required = ((schema.required ?? []) as string[]).filter((name) => names.includes(name));
    const minProperties = typeof schema.minProperties === 'number' ? schema.minProperties : 0;
    const maxProperties = typeof schema.maxProperties === 'number' ? schema.maxProperties : Infinity;
    let arbitrary: fc.Arbitrary<Record<string, unknown>> =
      names.length === 0
        ? fc.constant({})
        : fc.record(Object.fromEntries(names.map((name) => [name, this.arbitrary(properties[name])])), {
            requiredKeys: required,
            noNullPrototype: true,
          });
    const extra = schema.additionalProperties;
    if (isObject(extra) || extra === true || extra === undefined) {
      if (isObject(extra)) {
        const keys = (
          schema.propertyNames
            ? this.arbitrary({ type: 'string', ...(schema.propertyNames as JsonSchema) })
            : fc.string({ unit: this.unit })
        ) as fc.Arbitrary<string>;
        const room = Math.max(0, Math.min(maxProperties - required.length, this.maxCollection));
        const map = fc.dictionary(
          keys.filter((key) => !names.includes(key)),
          this.arbitrary(extra),
          { minKeys: Math.min(room, Math.max(0, minProperties - names.length)), maxKeys: room, noNullPrototype: true },
        );
        arbitrary = fc.tuple(arbitrary, map).map(([own, more]) => ({ ...own, ...more }));
      }
    }
    return arbitrary.filter((object) => {
      const count = Object.keys(object).length;
      return count >= minProperties && count <= maxProperties;
    });
  }

  // ---------------------------------------------------------------- invalid values

  invalid(schema: unknown, depth = 0): fc.Arbitrary<InvalidValue> {
    const resolved = this.resolve(schema);
    const refuses = (value: unknown) =>
      !isValid(resolved['x-checkAgainst'] ?? resolved, value, { document: this.document });
    const here = (arbitrary: fc.Arbitrary<unknown>, mutation: string): fc.Arbitrary<InvalidValue> =>
      arbitrary
        .map(throughJson)
        .filter((value) => value !== undefined && refuses(value))
        .map((value) => ({ value, path: [], mutation }));
    const options: Array<fc.Arbitrary<InvalidValue>> = [here(this.wrongType(resolved), 'a value of another type')];

    if (Array.isArray(resolved.oneOf) || Array.isArray(resolved.anyOf)) {
      const branches = this.branches(resolved);
      // A value that breaks one branch must break them all to break the union; the union is what is blamed.
      for (const branch of branches) {
        options.push(
          this.invalid(branch, depth + 1)
            .filter(({ value }) => refuses(value))
            .map(({ value, mutation }) => ({
              value,
              path: [],
              mutation: `${mutation} (in a ${resolved.oneOf ? 'oneOf' : 'anyOf'})`,
            })),
        );
      }
      if (resolved.oneOf && branches.length > 1) {
        const objects = branches.map((branch) => this.arbitrary(branch)).filter(() => true);
        options.push(
          here(
            fc
              .tuple(fc.oneof(...objects), fc.oneof(...objects))
              .map(([a, b]) => (isObject(a) && isObject(b) ? { ...a, ...b } : [a, b])),
            'two oneOf branches at once',
          ),
        );
      }
      return fc.oneof(...options);
    }
    if (Array.isArray(resolved.enum)) {
      const allowed = resolved.enum as unknown[];
      options.push(
        here(
          fc.oneof(
            fc.constantFrom(...allowed).map((value) => (typeof value === 'string' ? flipCase(value) : value)),
            fc.constantFrom(...allowed).map((value) => (typeof value === 'string' ? ` ${value}` : value)),
            fc.string({ unit: anyUnit }),
          ),
          'a value outside the enum',
        ),
      );
    }
    switch (resolved.type) {
      case 'string':
        options.push(...this.invalidStrings(resolved).map(([arbitrary, mutation]) => here(arbitrary, mutation)));
        break;
      case 'integer':
      case 'number':
        options.push(...this.invalidNumbers(resolved).map(([arbitrary, mutation]) => here(arbitrary, mutation)));
        break;
      case 'boolean':
        options.push(here(fc.constantFrom('true', 'false', 0, 1, 'yes'), 'a boolean look-alike'));
        break;
      case 'array':
        options.push(...this.invalidArrays(resolved, depth));
        break;
      case 'object':
        options.push(...this.invalidObjects(resolved, depth));
        break;
      default:
        break;
    }
    return fc.oneof(...options);
  }

  private wrongType(schema: JsonSchema): fc.Arbitrary<unknown> {
    const types = new Set(Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string]);
    const candidates: Array<fc.Arbitrary<unknown>> = [];
    if (!types.has('null')) candidates.push(fc.constant(null));
    if (!types.has('boolean')) candidates.push(fc.boolean());
    if (!types.has('integer') && !types.has('number'))
      candidates.push(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }));
    if (types.has('integer'))
      candidates.push(fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Number.isInteger(n)));
    if (!types.has('string')) candidates.push(fc.string({ unit: anyUnit }));
    if (!types.has('array')) candidates.push(fc.array(anyJson(), { maxLength: 3 }));
    if (!types.has('object'))
      candidates.push(fc.dictionary(fc.string({ unit: anyUnit }), anyJson(), { maxKeys: 3, noNullPrototype: true }));
    candidates.push(fc.anything({ maxDepth: 2 }), anyJson());
    return fc.oneof(...candidates);
  }

  private invalidStrings(schema: JsonSchema): Array<[fc.Arbitrary<unknown>, string]> {
    const result: Array<[fc.Arbitrary<unknown>, string]> = [];
    const valid = this.arbitrary(schema) as fc.Arbitrary<string>;
    if (typeof schema.pattern === 'string') {
      const pattern = new RegExp(schema.pattern, 'u');
      result.push([
        fc.string({ unit: anyUnit, maxLength: 40 }).filter((text) => !pattern.test(text)),
        'a string not matching the pattern',
      ]);
      // Near misses: a valid value with one character replaced, inserted or appended.
      result.push([
        fc
          .tuple(
            valid,
            fc.nat(),
            fc.string({ unit: anyUnit, minLength: 1, maxLength: 2 }),
            fc.constantFrom('replace', 'insert', 'append', 'prepend'),
          )
          .map(([text, at, bad, how]) => {
            const chars = [...text];
            const index = chars.length === 0 ? 0 : at % chars.length;
            if (how === 'replace') chars.splice(index, 1, bad);
            else if (how === 'insert') chars.splice(index, 0, bad);
            else if (how === 'append') chars.push(bad);
            else chars.unshift(bad);
            return chars.join('');
          }),
        'a valid string with one character changed',
      ]);
    }
    if (typeof schema.maxLength === 'number') {
      const max = schema.maxLength;
      result.push([
        fc
          .tuple(valid, fc.integer({ min: 1, max: 32 }), fc.string({ unit: storableUnit, minLength: 1, maxLength: 1 }))
          .map(([text, over, filler]) => text + filler.repeat(Math.max(1, max + over - schemaLength(text)))),
        `a string longer than ${max}`,
      ]);
    }
    if (typeof schema.minLength === 'number' && schema.minLength > 0) {
      const min = schema.minLength;
      result.push([valid.map((text) => [...text].slice(0, min - 1).join('')), `a string shorter than ${min}`]);
    }
    if (schema.format === 'uuid') {
      result.push([
        fc.oneof(
          fc.uuid().map((id) => id.slice(1)),
          fc.uuid().map((id) => id.replace(/-/g, '')),
          fc.uuid().map((id) => `{${id}}`),
          fc.uuid().map((id) => `${id.slice(0, -1)}g`),
          fc.string({ unit: anyUnit }),
        ),
        'not a uuid',
      ]);
    }
    if (schema.format === 'date-time') result.push([fc.string({ unit: anyUnit }), 'not a date-time']);
    if (schema.format === 'uri') result.push([fc.string({ unit: anyUnit }), 'not a uri']);
    return result;
  }

  private invalidNumbers(schema: JsonSchema): Array<[fc.Arbitrary<unknown>, string]> {
    const result: Array<[fc.Arbitrary<unknown>, string]> = [];
    if (typeof schema.minimum === 'number') {
      const min = schema.minimum;
      result.push([
        fc.oneof(fc.constant(min - 1), fc.integer({ min: -0x80000000, max: Math.ceil(min) - 1 }), fc.constant(-1e300)),
        `below ${min}`,
      ]);
    }
    if (typeof schema.maximum === 'number') {
      const max = schema.maximum;
      result.push([
        fc.oneof(
          fc.constant(max + 1),
          fc.integer({ min: Math.floor(max) + 1, max: Math.max(Math.floor(max) + 1, 0x7fffffff) }),
          fc.constant(1e300),
          fc.constant(2 ** 53),
        ),
        `above ${max}`,
      ]);
    }
    if (schema.type === 'integer') {
      result.push([(this.arbitrary(schema) as fc.Arbitrary<number>).map((n) => n + 0.5), 'a fraction']);
    }
    result.push([(this.arbitrary(schema) as fc.Arbitrary<number>).map((n) => String(n)), 'a number in a string']);
    return result;
  }

  private invalidArrays(schema: JsonSchema, depth: number): Array<fc.Arbitrary<InvalidValue>> {
    const result: Array<fc.Arbitrary<InvalidValue>> = [];
    const items = this.arbitrary(schema.items ?? {});
    const valid = this.arbitrary(schema) as fc.Arbitrary<unknown[]>;
    const refuses = (value: unknown) => !isValid(schema, value, { document: this.document });
    const whole = (arbitrary: fc.Arbitrary<unknown[]>, mutation: string) =>
      arbitrary
        .map(throughJson)
        .filter(refuses)
        .map((value) => ({ value, path: [], mutation }));
    if (typeof schema.maxItems === 'number') {
      const max = schema.maxItems;
      const more = schema.uniqueItems
        ? fc.uniqueArray(items, { minLength: max + 1, maxLength: max + 3, selector: (item) => JSON.stringify(item) })
        : fc.array(items, { minLength: max + 1, maxLength: max + 3 });
      result.push(whole(more, `more than ${max} items`));
    }
    if (typeof schema.minItems === 'number' && schema.minItems > 0) {
      result.push(whole(fc.array(items, { maxLength: schema.minItems - 1 }), `fewer than ${schema.minItems} items`));
    }
    if (schema.uniqueItems) {
      result.push(
        whole(
          fc.tuple(valid, items, fc.nat()).map(([array, item, at]) => {
            const copy = array.length > 0 ? array[at % array.length] : item;
            const out = array.length > 0 ? [...array] : [item];
            out.splice(at % (out.length + 1), 0, copy);
            return out;
          }),
          'a duplicate item',
        ),
      );
    }
    if (schema.items && depth < 4) {
      result.push(
        fc.tuple(valid, this.invalid(schema.items, depth + 1), fc.nat()).map(([array, bad, at]) => {
          const out = [...array];
          const index = out.length === 0 ? 0 : at % out.length;
          out.splice(index, out.length === 0 ? 0 : 1, bad.value);
          return { value: out, path: [String(index), ...bad.path], mutation: `item ${index}: ${bad.mutation}` };
        }),
      );
    }
    return result;
  }

  private invalidObjects(schema: JsonSchema, depth: number): Array<fc.Arbitrary<InvalidValue>> {
    const result: Array<fc.Arbitrary<InvalidValue>> = [];
    const properties = (schema.properties ?? {}) as Record<string, unknown>;
    const names = Object.keys(properties);
    const required = ((schema.required ?? []) as string[]).filter((name) => names.includes(name));
    const valid = this.arbitrary(schema) as fc.Arbitrary<Record<string, unknown>>;
    const refuses = (value: unknown) => !isValid(schema, value, { document: this.document });

    if (required.length > 0) {
      result.push(
        fc.tuple(valid, fc.constantFrom(...required)).map(([object, name]) => ({
          value: withoutProperty(object, name),
          path: [name],
          mutation: `required ${name} dropped`,
        })),
      );
    }
    if (typeof schema.minProperties === 'number' && schema.minProperties > 0 && required.length === 0) {
      result.push(fc.constant({ value: {}, path: [], mutation: `fewer than ${schema.minProperties} properties` }));
    }
    const extra = schema.additionalProperties;
    // After allOf is merged, `unevaluatedProperties: false` closes the object like `additionalProperties: false`.
    if (extra === false || (extra === undefined && schema.unevaluatedProperties === false)) {
      const unknownName = fc
        .oneof(
          fc.string({ unit: anyUnit, maxLength: 12 }),
          // Near misses of the real names: another case, a trailing space, snake_case.
          ...(names.length > 0
            ? [
                fc.constantFrom(...names).map(flipCase),
                fc.constantFrom(...names).map((name) => `${name} `),
                fc.constantFrom(...names).map((name) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)),
              ]
            : []),
        )
        .filter((name) => !names.includes(name));
      result.push(
        fc.tuple(valid, unknownName, anyJson()).map(([object, name, value]) => ({
          value: withProperty(object, name, value),
          path: [name],
          mutation: `unknown property ${JSON.stringify(name)}`,
        })),
      );
    }
    if (isObject(extra)) {
      const nameSchema = { type: 'string', ...((schema.propertyNames ?? {}) as JsonSchema) };
      const goodName = this.arbitrary(nameSchema) as fc.Arbitrary<string>;
      if (schema.propertyNames) {
        const badName = this.invalid(nameSchema, depth + 1)
          .map(({ value }) => value)
          .filter((value): value is string => typeof value === 'string' && !names.includes(value));
        result.push(
          fc.tuple(valid, badName, this.arbitrary(extra)).map(([object, name, value]) => ({
            value: withProperty(object, name, value),
            path: [name],
            mutation: `property name ${JSON.stringify(name)} not allowed`,
          })),
        );
      }
      if (depth < 4) {
        result.push(
          fc
            .tuple(valid, goodName, this.invalid(extra, depth + 1))
            .filter(([, name]) => !names.includes(name))
            .map(([object, name, bad]) => ({
              value: withProperty(object, name, bad.value),
              path: [name, ...bad.path],
              mutation: `${name}: ${bad.mutation}`,
            })),
        );
      }
      if (typeof schema.maxProperties === 'number') {
        const max = schema.maxProperties;
        result.push(
          fc
            .tuple(valid, fc.uniqueArray(goodName, { minLength: max + 1, maxLength: max + 3 }), this.arbitrary(extra))
            .map(([object, keys, value]) => {
              let out = object;
              for (const key of keys) if (Object.keys(out).length <= max) out = withProperty(out, key, value);
              return out;
            })
            .filter(refuses)
            .map((value) => ({ value, path: [], mutation: `more than ${max} properties` })),
        );
      }
    }
    if (depth < 4) {
      for (const name of names) {
        result.push(
          fc.tuple(valid, this.invalid(properties[name], depth + 1)).map(([object, bad]) => ({
            value: withProperty(object, name, bad.value),
            path: [name, ...bad.path],
            mutation: `${name}: ${bad.mutation}`,
          })),
        );
      }
    }
    return result;
  }
}

function flipCase(text: string): string {
  const flipped = [...text].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join('');
  return flipped === text ? `${text}_` : flipped;
}

/** Values `schema` accepts. */
export function arbitraryFromSchema(schema: unknown, options: SchemaArbitraryOptions = {}): fc.Arbitrary<unknown> {
  return new SchemaArbitraries(options).arbitrary(schema);
}

/** Values `schema` refuses, each with the path of the part that was broken. */
export function invalidArbitraryFromSchema(
  schema: unknown,
  options: SchemaArbitraryOptions = {},
): fc.Arbitrary<InvalidValue> {
  return new SchemaArbitraries(options).invalid(schema);
}

/** A schema of openapi.yaml by name, e.g. `componentSchema('TargetCreate')` is `{$ref: '#/components/schemas/TargetCreate'}`. */
export function componentSchema(name: string): JsonSchema {
  const { document } = loadSpec();
  if (!(document.components.schemas as Record<string, unknown>)[name])
    throw new Error(`openapi.yaml has no schema ${name}`);
  return { $ref: `#/components/schemas/${name}` };
}
