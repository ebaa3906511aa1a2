/**
 * Parser and writer for the Prometheus text exposition format (version 0.0.4) and OpenMetrics 1.0 text.
 *
 * Pure module: no Nest, no database. The parser makes one pass over the body: it finds each line end with
 * `indexOf('\n')` and walks the line with `charCodeAt`, slicing only the strings it returns (metric name, label
 * names and values, HELP text). Numbers with up to 15 significant digits and a decimal exponent within ±22 are
 * converted exactly without allocating; anything else goes through `Number()` after the syntax was checked.
 * (Reusing the previous sample's strings when equal was measured: comparing costs more than slicing.)
 *
 * Behaviour follows Prometheus's own parsers (model/textparse) unless noted in the comments below with "Deviation".
 */

export type MetricType =
  'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped' | 'info' | 'stateset' | 'gaugehistogram' | 'unknown';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  timestampMs?: number;
}

export interface ParseResult {
  samples: Sample[];
  /** Declared type per metric family, keyed by the name on the `# TYPE` line. */
  types: Map<string, MetricType>;
  /** Unescaped HELP text per metric family, keyed by the name on the `# HELP` line. */
  help: Map<string, string>;
}

export interface ParseOptions {
  /** Parse OpenMetrics 1.0 text: `# EOF` required at the end, timestamps in seconds, exemplars, `# UNIT`. */
  openMetrics?: boolean;
  /** When > 0, throw SampleLimitError as soon as the body holds more samples than this. */
  sampleLimit?: number;
}

const QUOTE_LIMIT = 200;

function quoteLine(text: string): string {
  return text.length > QUOTE_LIMIT
    ? `${JSON.stringify(text.slice(0, QUOTE_LIMIT))}… (${text.length} chars)`
    : JSON.stringify(text);
}

/** A malformed line. `message` reads `line N: <reason>: "<the line, truncated to 200 chars>"`. */
export class ExpositionParseError extends Error {
  override readonly name = 'ExpositionParseError';

  /**
   * @param reason what is wrong, e.g. `expected a value after the labels`
   * @param line 1-based line number
   * @param text the offending line, without its line ending
   */
  constructor(
    readonly reason: string,
    readonly line: number,
    readonly text: string,
  ) {
    super(`line ${line}: ${reason}: ${quoteLine(text)}`);
  }
}

/** The body holds more samples than `sampleLimit`; parsing stopped there. */
export class SampleLimitError extends Error {
  override readonly name = 'SampleLimitError';

  constructor(readonly limit: number) {
    super(`sample limit ${limit} exceeded`);
  }
}

// Character codes.
const TAB = 9;
const CR = 13;
const SPACE = 32;
const QUOTE = 34;
const HASH = 35;
const PLUS = 43;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
const EQUALS = 61;
const BACKSLASH = 92;
const LOWER_N = 110;
const BRACE_OPEN = 123;
const BRACE_CLOSE = 125;
const BOM = 0xfeff;

// Character classes for ASCII, as bit flags.
const NAME_START = 1; // [a-zA-Z_:]
const NAME_CHAR = 2; // [a-zA-Z0-9_:]
const LABEL_START = 4; // [a-zA-Z_]
const LABEL_CHAR = 8; // [a-zA-Z0-9_]
const CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const letter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
  const digit = c >= ZERO && c <= NINE;
  if (letter) CLASS[c] = NAME_START | NAME_CHAR | LABEL_START | LABEL_CHAR;
  else if (digit) CLASS[c] = NAME_CHAR | LABEL_CHAR;
  else if (c === 58) CLASS[c] = NAME_START | NAME_CHAR;
}

function is(c: number, cls: number): boolean {
  return c < 128 && (CLASS[c] & cls) !== 0;
}

/** Exact powers of ten as doubles (10^22 is the largest exactly representable one). */
const POW10 = [
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
  1e21, 1e22,
];

const TYPES_004: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const TYPES_OM: ReadonlySet<string> = new Set([
  'counter',
  'gauge',
  'histogram',
  'gaugehistogram',
  'stateset',
  'info',
  'summary',
  'unknown',
]);

/**
 * Parses a Prometheus 0.0.4 (default) or OpenMetrics 1.0 text body.
 *
 * @throws ExpositionParseError on the first malformed line
 * @throws SampleLimitError when `sampleLimit` > 0 and the body holds more samples
 */
export function parseExposition(body: string, options?: ParseOptions): ParseResult {
  const limit = options?.sampleLimit;
  return new Parser(body, options?.openMetrics === true, typeof limit === 'number' && limit > 0 ? limit : 0).run();
}

class Parser {
  private readonly samples: Sample[] = [];
  private readonly types = new Map<string, MetricType>();
  private readonly help = new Map<string, string>();
  private line = 0;
  private lineStart = 0;
  private lineEnd = 0;
  private eof = false;
  /** Label names of the label set being parsed, for the duplicate check (faster than a keyed lookup). */
  private readonly seenNames: string[] = new Array<string>(16).fill('');

  constructor(
    private readonly body: string,
    private readonly om: boolean,
    private readonly limit: number,
  ) {}

  run(): ParseResult {
    const body = this.body;
    const length = body.length;
    // Deviation: a leading byte order mark is skipped (Prometheus would reject the first line).
    let pos = length > 0 && body.charCodeAt(0) === BOM ? 1 : 0;
    while (pos < length) {
      this.line++;
      const nl = body.indexOf('\n', pos);
      let end = nl === -1 ? length : nl;
      // CRLF line endings: the CR belongs to the line ending (Prometheus itself only knows LF).
      if (end > pos && body.charCodeAt(end - 1) === CR) end--;
      this.lineStart = pos;
      this.lineEnd = end;
      if (this.eof) this.fail('unexpected content after "# EOF"');
      this.parseLine(pos, end);
      // Deviation: a missing newline after the last line is accepted.
      pos = nl === -1 ? length : nl + 1;
    }
    if (this.om && !this.eof) {
      if (this.line === 0) {
        this.line = 1;
        this.lineStart = this.lineEnd = 0;
      }
      this.fail('missing "# EOF" at the end of OpenMetrics input (truncated body?)');
    }
    return { samples: this.samples, types: this.types, help: this.help };
  }

  private fail(reason: string): never {
    throw new ExpositionParseError(reason, this.line, this.body.slice(this.lineStart, this.lineEnd));
  }

  private skipBlanks(i: number, end: number): number {
    const body = this.body;
    while (i < end) {
      const c = body.charCodeAt(i);
      if (c !== SPACE && c !== TAB) break;
      i++;
    }
    return i;
  }

  private parseLine(start: number, end: number): void {
    // Leading blanks are tolerated before samples and comments, and blank lines are skipped, as Prometheus does.
    // Deviation (OpenMetrics): blank lines, extra blanks and plain comments are accepted there too.
    const i = this.skipBlanks(start, end);
    if (i === end) return;
    if (this.body.charCodeAt(i) === HASH) this.parseComment(i + 1, end);
    else this.parseSample(i, end);
  }

  // ---- comments, HELP, TYPE, UNIT, EOF ---------------------------------------------------------------------------

  private keywordAt(i: number, end: number, word: string): boolean {
    return end - i >= word.length && this.body.startsWith(word, i);
  }

  private parseComment(afterHash: number, end: number): void {
    const body = this.body;
    const k = this.skipBlanks(afterHash, end);
    // `#` must be followed by blanks for HELP/TYPE; `#HELP x` is an ordinary comment, as in Prometheus.
    if (k === afterHash || k === end) return;
    if (this.om && this.keywordAt(k, end, 'EOF')) {
      const after = k + 3;
      if (this.skipBlanks(after, end) === end) {
        this.eof = true;
        return;
      }
      if (is(body.charCodeAt(after), NAME_CHAR)) return; // `# EOFX`: a comment
      this.fail('unexpected text after "# EOF"');
    }
    let kind: 'HELP' | 'TYPE' | 'UNIT';
    if (this.keywordAt(k, end, 'HELP')) kind = 'HELP';
    else if (this.keywordAt(k, end, 'TYPE')) kind = 'TYPE';
    else if (this.om && this.keywordAt(k, end, 'UNIT')) kind = 'UNIT';
    else return;
    const afterKeyword = k + 4;
    // The keyword must be followed by a blank, otherwise the line is a comment (`# HELPER`, `# TYPE` alone).
    if (afterKeyword === end) return;
    const sep = body.charCodeAt(afterKeyword);
    if (sep !== SPACE && sep !== TAB) return;

    const nameStart = this.skipBlanks(afterKeyword, end);
    if (nameStart === end || !is(body.charCodeAt(nameStart), NAME_START)) {
      this.fail(`expected a metric name after ${kind}`);
    }
    let nameEnd = nameStart + 1;
    while (nameEnd < end && is(body.charCodeAt(nameEnd), NAME_CHAR)) nameEnd++;
    if (nameEnd < end) {
      const c = body.charCodeAt(nameEnd);
      if (c !== SPACE && c !== TAB) this.fail(`invalid character in the metric name after ${kind}`);
    }
    const name = body.slice(nameStart, nameEnd);

    if (kind === 'HELP') {
      // Exactly one blank separates the name from the text, as in Prometheus; further blanks belong to the text.
      const textStart = nameEnd < end ? nameEnd + 1 : end;
      this.help.set(name, this.unescapeHelp(textStart, end));
    } else if (kind === 'TYPE') {
      const typeStart = this.skipBlanks(nameEnd, end);
      if (typeStart === end) this.fail('expected a metric type after the metric name');
      let typeEnd = typeStart;
      while (typeEnd < end) {
        const c = body.charCodeAt(typeEnd);
        if (c === SPACE || c === TAB) break;
        typeEnd++;
      }
      // Deviation: trailing blanks after the type are tolerated (Prometheus would read them as part of the type).
      if (this.skipBlanks(typeEnd, end) !== end) this.fail('unexpected text after the metric type');
      const type = body.slice(typeStart, typeEnd);
      if (!(this.om ? TYPES_OM : TYPES_004).has(type)) this.fail(`invalid metric type "${type}"`);
      this.types.set(name, type as MetricType);
    }
    // UNIT: the name was checked; units are not part of the result.
  }

  /** HELP text escapes: `\\` and `\n` (and `\"` in OpenMetrics); any other backslash is kept as written. */
  private unescapeHelp(start: number, end: number): string {
    const body = this.body;
    // A bounded scan: indexOf would search past the line, to the end of the body, for every HELP without escapes.
    let i = start;
    while (i < end && body.charCodeAt(i) !== BACKSLASH) i++;
    if (i === end) return body.slice(start, end);
    let out = '';
    let from = start;
    for (; i < end - 1; i++) {
      if (body.charCodeAt(i) !== BACKSLASH) continue;
      const next = body.charCodeAt(i + 1);
      let replacement: string | undefined;
      if (next === BACKSLASH) replacement = '\\';
      else if (next === LOWER_N) replacement = '\n';
      else if (next === QUOTE && this.om) replacement = '"';
      if (replacement !== undefined) {
        out += body.slice(from, i) + replacement;
        from = i + 2;
      }
      i++;
    }
    return out + body.slice(from, end);
  }

  // ---- samples ---------------------------------------------------------------------------------------------------

  private parseSample(start: number, end: number): void {
    const body = this.body;
    if (!is(body.charCodeAt(start), NAME_START)) {
      // Deviation: the quoted UTF-8 metric names of Prometheus 3 (`{"my.metric"} 1`) are not supported.
      this.fail('expected a metric name');
    }
    let k = start + 1;
    while (k < end && is(body.charCodeAt(k), NAME_CHAR)) k++;
    const name = body.slice(start, k);

    const afterName = k;
    k = this.skipBlanks(k, end);
    const labels: Record<string, string> = {};
    const hasLabels = k < end && body.charCodeAt(k) === BRACE_OPEN;
    if (hasLabels) {
      // Prometheus accepts the value right after `}` too.
      k = this.skipBlanks(this.parseLabels(k + 1, end, labels), end);
    } else if (k === afterName && k < end) {
      // Deviation: Prometheus reads `foo-1 2` as foo with value -1 at timestamp 2; we want a blank or `{`.
      this.fail('invalid character in the metric name');
    }

    if (k === end) {
      this.fail(hasLabels ? 'expected a value after the labels' : 'expected a value after the metric name');
    }
    let tokenEnd = this.tokenEnd(k, end);
    const value = this.parseNumber(k, tokenEnd, 'value');

    let timestampMs: number | undefined;
    k = this.skipBlanks(tokenEnd, end);
    if (k < end) {
      if (this.om && body.charCodeAt(k) === HASH) {
        this.parseExemplar(k + 1, end);
      } else {
        tokenEnd = this.tokenEnd(k, end);
        timestampMs = this.om ? this.parseOmTimestamp(k, tokenEnd) : this.parseTimestamp(k, tokenEnd);
        k = this.skipBlanks(tokenEnd, end);
        if (k < end) {
          if (this.om && body.charCodeAt(k) === HASH) this.parseExemplar(k + 1, end);
          else this.fail('unexpected text after the timestamp');
        }
      }
    }

    if (this.limit > 0 && this.samples.length >= this.limit) throw new SampleLimitError(this.limit);
    this.samples.push(timestampMs === undefined ? { name, labels, value } : { name, labels, value, timestampMs });
  }

  private tokenEnd(i: number, end: number): number {
    const body = this.body;
    while (i < end) {
      const c = body.charCodeAt(i);
      if (c === SPACE || c === TAB) break;
      i++;
    }
    return i;
  }

  /** Parses `name="value", ...}` starting after `{` and returns the index after `}`. */
  private parseLabels(k: number, end: number, labels: Record<string, string>): number {
    const body = this.body;
    for (let index = 0; ; index++) {
      k = this.skipBlanks(k, end);
      if (k === end) this.fail('missing "}" at the end of the label set');
      let c = body.charCodeAt(k);
      if (c === BRACE_CLOSE) return k + 1;
      if (!is(c, LABEL_START)) {
        this.fail(c === COMMA ? 'expected a label name, got ","' : 'expected a label name');
      }
      const nameStart = k;
      k++;
      while (k < end && is(body.charCodeAt(k), LABEL_CHAR)) k++;
      const nameEnd = k;

      k = this.skipBlanks(k, end);
      if (k === end) this.fail('missing "}" at the end of the label set');
      if (body.charCodeAt(k) !== EQUALS) {
        const bad = body.charCodeAt(k);
        if (k === nameEnd && bad !== BRACE_CLOSE && bad !== COMMA) this.fail('invalid character in a label name');
        this.fail(`expected "=" after the label name "${body.slice(nameStart, nameEnd)}"`);
      }
      k = this.skipBlanks(k + 1, end);
      if (k === end || body.charCodeAt(k) !== QUOTE) this.fail('expected a quoted label value');

      const valueStart = ++k;
      let escaped = false;
      for (;;) {
        if (k >= end) this.fail('missing closing quote in a label value');
        c = body.charCodeAt(k);
        if (c === QUOTE) break;
        if (c === BACKSLASH) {
          escaped = true;
          k += 2;
        } else {
          k++;
        }
      }
      const valueEnd = k++;

      const name = body.slice(nameStart, nameEnd);
      const value = escaped ? this.unescapeLabelValue(valueStart, valueEnd) : body.slice(valueStart, valueEnd);

      if (name === '__name__') this.fail('the label name "__name__" is reserved for the metric name');
      if (index < 16) {
        const seen = this.seenNames;
        for (let j = 0; j < index; j++) if (seen[j] === name) this.fail(`duplicate label name "${name}"`);
        seen[index] = name;
      } else if (Object.hasOwn(labels, name)) {
        this.fail(`duplicate label name "${name}"`);
      }
      if (name === '__proto__') {
        Object.defineProperty(labels, name, { value, enumerable: true, writable: true, configurable: true });
      } else {
        labels[name] = value;
      }

      k = this.skipBlanks(k, end);
      if (k === end) this.fail('missing "}" at the end of the label set');
      c = body.charCodeAt(k);
      if (c === COMMA) {
        k++; // a trailing comma before `}` is allowed
      } else if (c === BRACE_CLOSE) {
        return k + 1;
      } else {
        // Deviation: Prometheus 0.0.4 accepts `{a="1" b="2"}` without the comma; OpenMetrics and we do not.
        this.fail('expected "," or "}" after a label value');
      }
    }
  }

  /** Label value escapes `\\`, `\"` and `\n`; any other backslash is kept as written, as Prometheus does. */
  private unescapeLabelValue(start: number, end: number): string {
    const body = this.body;
    let out = '';
    let from = start;
    for (let i = start; i < end - 1; i++) {
      if (body.charCodeAt(i) !== BACKSLASH) continue;
      const next = body.charCodeAt(i + 1);
      let replacement: string | undefined;
      if (next === BACKSLASH) replacement = '\\';
      else if (next === QUOTE) replacement = '"';
      else if (next === LOWER_N) replacement = '\n';
      if (replacement !== undefined) {
        out += body.slice(from, i) + replacement;
        from = i + 2;
      }
      i++;
    }
    return out + body.slice(from, end);
  }

  /** OpenMetrics exemplar after `#`: ` {labels} value [timestamp]`. Checked and dropped. */
  private parseExemplar(k: number, end: number): void {
    k = this.skipBlanks(k, end);
    if (k === end || this.body.charCodeAt(k) !== BRACE_OPEN) this.fail('expected "{" to start an exemplar');
    k = this.parseLabels(k + 1, end, {});
    k = this.skipBlanks(k, end);
    if (k === end) this.fail('expected a value in the exemplar');
    let tokenEnd = this.tokenEnd(k, end);
    this.parseNumber(k, tokenEnd, 'exemplar value');
    k = this.skipBlanks(tokenEnd, end);
    if (k === end) return;
    tokenEnd = this.tokenEnd(k, end);
    this.parseOmTimestamp(k, tokenEnd);
    if (this.skipBlanks(tokenEnd, end) !== end) this.fail('unexpected text after the exemplar');
  }

  // ---- numbers ---------------------------------------------------------------------------------------------------

  /**
   * Go's strconv.ParseFloat as Prometheus uses it: decimal with optional sign, fraction and exponent; `Inf`,
   * `Infinity` (any case, optional sign); `NaN` (any case, no sign). No hex, no underscores. Out of range → error.
   */
  private parseNumber(start: number, end: number, what: string): number {
    const body = this.body;
    let i = start;
    let c = body.charCodeAt(i);
    let negative = false;
    let signed = false;
    if (c === PLUS || c === MINUS) {
      negative = c === MINUS;
      signed = true;
      i++;
      if (i === end) this.invalidNumber(start, end, what);
      c = body.charCodeAt(i);
    }
    if ((c >= ZERO && c <= NINE) || c === DOT) {
      let mantissa = 0;
      let significant = 0;
      let exponent = 0;
      let digits = 0;
      let exact = true;
      for (; i < end; i++) {
        c = body.charCodeAt(i);
        if (c < ZERO || c > NINE) break;
        digits++;
        if (mantissa === 0 && c === ZERO) continue;
        if (significant < 15) {
          mantissa = mantissa * 10 + (c - ZERO);
          significant++;
        } else {
          exact = false;
        }
      }
      if (i < end && c === DOT) {
        for (i++; i < end; i++) {
          c = body.charCodeAt(i);
          if (c < ZERO || c > NINE) break;
          digits++;
          exponent--;
          if (mantissa === 0 && c === ZERO) continue;
          if (significant < 15) {
            mantissa = mantissa * 10 + (c - ZERO);
            significant++;
          } else {
            exact = false;
          }
        }
      }
      if (digits === 0) this.invalidNumber(start, end, what);
      if (i < end && (c === 101 || c === 69)) {
        // e / E
        i++;
        let expNegative = false;
        c = body.charCodeAt(i);
        if (i < end && (c === PLUS || c === MINUS)) {
          expNegative = c === MINUS;
          i++;
        }
        let e = 0;
        const expStart = i;
        for (; i < end; i++) {
          c = body.charCodeAt(i);
          if (c < ZERO || c > NINE) break;
          if (e < 100000) e = e * 10 + (c - ZERO);
        }
        if (i === expStart) this.invalidNumber(start, end, what);
        exponent += expNegative ? -e : e;
      }
      if (i !== end) this.invalidNumber(start, end, what);
      let v: number;
      if (exact && exponent >= -22 && exponent <= 22) {
        // Both operands are exact doubles, so the one rounding of * or / gives the correctly rounded result.
        v = exponent >= 0 ? mantissa * POW10[exponent] : mantissa / POW10[-exponent];
        if (negative) v = -v;
      } else {
        v = Number(body.slice(start, end));
      }
      if (v === Infinity || v === -Infinity) this.fail(`${what} out of range "${body.slice(start, end)}"`);
      return v;
    }
    const n = end - i;
    if ((n === 3 && this.matchesIgnoringCase(i, 'inf')) || (n === 8 && this.matchesIgnoringCase(i, 'infinity'))) {
      return negative ? -Infinity : Infinity;
    }
    if (!signed && n === 3 && this.matchesIgnoringCase(i, 'nan')) return NaN;
    return this.invalidNumber(start, end, what);
  }

  /** `lower` is lower-case letters only. */
  private matchesIgnoringCase(i: number, lower: string): boolean {
    for (let j = 0; j < lower.length; j++) {
      if ((this.body.charCodeAt(i + j) | 0x20) !== lower.charCodeAt(j)) return false;
    }
    return true;
  }

  private invalidNumber(start: number, end: number, what: string): never {
    const token = this.body.slice(start, end);
    return this.fail(`invalid ${what} ${JSON.stringify(token.length > 40 ? token.slice(0, 40) + '…' : token)}`);
  }

  /** 0.0.4: integer milliseconds. Deviation: a leading minus is accepted; beyond ±2^53 is an error. */
  private parseTimestamp(start: number, end: number): number {
    const body = this.body;
    let i = start;
    const negative = body.charCodeAt(i) === MINUS;
    if (negative) i++;
    if (i === end) this.invalidNumber(start, end, 'timestamp');
    let v = 0;
    for (; i < end; i++) {
      const c = body.charCodeAt(i);
      if (c < ZERO || c > NINE) this.invalidNumber(start, end, 'timestamp');
      v = v * 10 + (c - ZERO);
    }
    if (v > Number.MAX_SAFE_INTEGER) this.fail('timestamp out of range');
    return negative && v !== 0 ? -v : v;
  }

  /**
   * OpenMetrics: seconds, possibly with a fraction, converted to integer milliseconds. Sub-millisecond digits are
   * truncated toward zero like Prometheus's int64(ts*1000), after snapping away binary rounding noise so that
   * `1520879607.789` gives exactly 1520879607789.
   */
  private parseOmTimestamp(start: number, end: number): number {
    const seconds = this.parseNumber(start, end, 'timestamp');
    if (Number.isNaN(seconds) || !Number.isFinite(seconds)) this.invalidNumber(start, end, 'timestamp');
    const ms = seconds * 1000;
    const nearest = Math.round(ms);
    const v = Math.abs(ms - nearest) <= Math.abs(ms) * 4.5e-16 ? nearest : Math.trunc(ms);
    if (!Number.isSafeInteger(v)) this.fail('timestamp out of range');
    return v === 0 ? 0 : v; // no -0
  }
}

// ---- families ----------------------------------------------------------------------------------------------------

const FAMILY_SUFFIXES: ReadonlyArray<readonly [string, ReadonlySet<MetricType>]> = [
  ['_bucket', new Set<MetricType>(['histogram', 'gaugehistogram'])],
  ['_sum', new Set<MetricType>(['histogram', 'summary'])],
  ['_count', new Set<MetricType>(['histogram', 'summary'])],
  ['_created', new Set<MetricType>(['histogram', 'summary', 'counter'])],
  ['_total', new Set<MetricType>(['counter'])],
  ['_gsum', new Set<MetricType>(['gaugehistogram'])],
  ['_gcount', new Set<MetricType>(['gaugehistogram'])],
  ['_info', new Set<MetricType>(['info'])],
];

/**
 * The family a sample belongs to and the family's declared type: `x_bucket`, `x_sum`, `x_count` and `x_created`
 * belong to `x` when `x` is declared histogram (or summary, bar `_bucket`); `x_total`/`x_created` to a counter `x`
 * (OpenMetrics naming); `x_gsum`/`x_gcount`/`x_bucket` to a gaugehistogram; `x_info` to an info. A name declared
 * itself wins (`# TYPE http_requests_total counter`). `type` is undefined when nothing was declared.
 */
export function metricFamily(
  sampleName: string,
  types: ReadonlyMap<string, MetricType>,
): { family: string; type: MetricType | undefined } {
  const own = types.get(sampleName);
  if (own !== undefined) return { family: sampleName, type: own };
  for (const [suffix, allowed] of FAMILY_SUFFIXES) {
    if (sampleName.length > suffix.length && sampleName.endsWith(suffix)) {
      const family = sampleName.slice(0, -suffix.length);
      const type = types.get(family);
      if (type !== undefined && allowed.has(type)) return { family, type };
    }
  }
  return { family: sampleName, type: undefined };
}

// ---- writing -----------------------------------------------------------------------------------------------------

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : '\\' + c)) : value;
}

function escapeHelp(text: string): string {
  return /[\\\n]/.test(text) ? text.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\')) : text;
}

/** Go's spelling: NaN, +Inf, -Inf; `-0` keeps its sign. Everything else is JavaScript's shortest round-trip form. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  if (value === 0 && 1 / value < 0) return '-0';
  return String(value);
}

/** Types 0.0.4 cannot express are written as `untyped`. */
function type004(type: MetricType): MetricType {
  return TYPES_004.has(type) ? type : 'untyped';
}

/**
 * Writes samples as Prometheus 0.0.4 text. A family's `# HELP` and `# TYPE` lines come right before its first sample
 * (see metricFamily); metadata of families without samples comes at the end. Label values are escaped, HELP text too.
 *
 * @throws TypeError for an invalid metric or label name, a `__name__` label, or a timestamp that is not a safe integer
 */
export function formatExposition(
  samples: readonly Sample[],
  types?: ReadonlyMap<string, MetricType>,
  help?: ReadonlyMap<string, string>,
): string {
  const noTypes: ReadonlyMap<string, MetricType> = types ?? new Map();
  const written = new Set<string>();
  let out = '';

  const writeMeta = (family: string): void => {
    written.add(family);
    const text = help?.get(family);
    const type = noTypes.get(family);
    if (text === undefined && type === undefined) return;
    if (!METRIC_NAME.test(family)) throw new TypeError(`invalid metric name ${JSON.stringify(family)}`);
    if (text !== undefined) out += `# HELP ${family} ${escapeHelp(text)}\n`;
    if (type !== undefined) out += `# TYPE ${family} ${type004(type)}\n`;
  };

  for (const sample of samples) {
    const name = sample.name;
    if (!METRIC_NAME.test(name)) throw new TypeError(`invalid metric name ${JSON.stringify(name)}`);
    if (types !== undefined || help !== undefined) {
      const family = metricFamily(name, noTypes).family;
      if (!written.has(family)) writeMeta(family);
    }
    let line = name;
    let first = true;
    for (const label of Object.keys(sample.labels)) {
      if (!LABEL_NAME.test(label) || label === '__name__') {
        throw new TypeError(`invalid label name ${JSON.stringify(label)} on ${name}`);
      }
      line += `${first ? '{' : ','}${label}="${escapeLabelValue(sample.labels[label])}"`;
      first = false;
    }
    if (!first) line += '}';
    line += ' ' + formatValue(sample.value);
    if (sample.timestampMs !== undefined) {
      if (!Number.isSafeInteger(sample.timestampMs)) {
        throw new TypeError(`timestamp ${sample.timestampMs} of ${name} is not an integer number of milliseconds`);
      }
      line += ' ' + String(sample.timestampMs);
    }
    out += line + '\n';
  }
  for (const family of help?.keys() ?? []) if (!written.has(family)) writeMeta(family);
  for (const family of noTypes.keys()) if (!written.has(family)) writeMeta(family);
  return out;
}
