import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ExpositionParseError,
  SampleLimitError,
  formatExposition,
  formatValue,
  metricFamily,
  parseExposition,
  type MetricType,
  type Sample,
} from './index';

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'exposition');
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');

/** The one sample of a one-line body. */
const one = (line: string, openMetrics = false): Sample => {
  const { samples } = parseExposition(openMetrics ? `${line}\n# EOF\n` : `${line}\n`, { openMetrics });
  expect(samples).toHaveLength(1);
  return samples[0];
};

const find = (samples: Sample[], name: string, labels: Record<string, string> = {}): Sample => {
  const found = samples.filter(
    (s) =>
      s.name === name &&
      Object.keys(s.labels).length === Object.keys(labels).length &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  expect(found).toHaveLength(1);
  return found[0];
};

/** Catches what parseExposition throws; fails the test when it returns. */
const parseError = (body: string, openMetrics = false): ExpositionParseError => {
  try {
    parseExposition(body, { openMetrics });
  } catch (e) {
    expect(e).toBeInstanceOf(ExpositionParseError);
    return e as ExpositionParseError;
  }
  throw new Error(`no error for ${JSON.stringify(body)}`);
};

describe('parseExposition: corpus', () => {
  it('node_exporter output', () => {
    const { samples, types, help } = parseExposition(fixture('node_exporter.prom'));
    expect(samples).toHaveLength(123);
    expect(types.size).toBe(33);
    expect(help.size).toBe(33);
    expect(samples.filter((s) => s.name === 'node_cpu_seconds_total')).toHaveLength(32);
    expect(samples.filter((s) => s.name.startsWith('node_filesystem_'))).toHaveLength(28);
    expect(samples.every((s) => s.timestampMs === undefined)).toBe(true);

    expect(samples[0]).toEqual({ name: 'go_gc_duration_seconds', labels: { quantile: '0' }, value: 2.4541e-5 });
    expect(find(samples, 'node_cpu_seconds_total', { cpu: '2', mode: 'idle' }).value).toBe(178702.65);
    expect(find(samples, 'node_cpu_seconds_total', { cpu: '3', mode: 'steal' }).value).toBe(0);
    expect(
      find(samples, 'node_filesystem_avail_bytes', {
        device: '/dev/nvme0n1p2',
        device_error: '',
        fstype: 'ext4',
        mountpoint: '/',
      }).value,
    ).toBe(389373954560);
    expect(
      find(samples, 'node_filesystem_size_bytes', {
        device: 'tmpfs',
        device_error: '',
        fstype: 'tmpfs',
        mountpoint: '/run/user/1000',
      }).value,
    ).toBe(3338280960);
    expect(find(samples, 'go_gc_duration_seconds_count').value).toBe(312);
    expect(find(samples, 'go_gc_duration_seconds_sum').value).toBe(0.017453751);
    expect(find(samples, 'process_virtual_memory_max_bytes').value).toBe(18446744073709552000);
    expect(samples.find((s) => s.name === 'node_uname_info')?.labels.version).toBe(
      '#45-Ubuntu SMP PREEMPT_DYNAMIC Fri Aug 30 12:02:04 UTC 2024',
    );

    const buckets = samples.filter(
      (s) => s.name === 'prometheus_http_request_duration_seconds_bucket' && s.labels.handler === '/metrics',
    );
    expect(buckets.map((s) => s.labels.le)).toEqual(['0.1', '0.2', '0.4', '1', '3', '8', '20', '60', '120', '+Inf']);
    expect(buckets[9].value).toBe(20874);
    expect(find(samples, 'prometheus_http_request_duration_seconds_sum', { handler: '/api/v1/query' }).value).toBe(
      87.31404288599996,
    );

    expect(types.get('node_cpu_seconds_total')).toBe('counter');
    expect(types.get('go_gc_duration_seconds')).toBe('summary');
    expect(types.get('prometheus_http_request_duration_seconds')).toBe('histogram');
    expect(help.get('node_load1')).toBe('1m load average.');
    expect(metricFamily('prometheus_http_request_duration_seconds_bucket', types)).toEqual({
      family: 'prometheus_http_request_duration_seconds',
      type: 'histogram',
    });
    expect(metricFamily('go_gc_duration_seconds_count', types)).toEqual({
      family: 'go_gc_duration_seconds',
      type: 'summary',
    });
  });

  it('Go client default registry', () => {
    const { samples, types, help } = parseExposition(fixture('go_client_default.prom'));
    expect(samples).toHaveLength(44);
    expect(types.size).toBe(36);
    expect(help.size).toBe(36);
    expect(find(samples, 'go_memstats_last_gc_time_seconds').value).toBe(1720104513.6734488);
    expect(find(samples, 'go_memstats_heap_objects').value).toBe(23477);
    expect(find(samples, 'go_memstats_alloc_bytes_total').value).toBe(143256648);
    expect(find(samples, 'process_resident_memory_bytes').value).toBe(16777216);
    expect(find(samples, 'go_info', { version: 'go1.21.13' })).toEqual({
      name: 'go_info',
      labels: { version: 'go1.21.13' },
      value: 1,
    });
    expect(find(samples, 'promhttp_metric_handler_requests_total', { code: '200' }).value).toBe(342);
    expect(find(samples, 'go_gc_duration_seconds', { quantile: '1' }).value).toBe(0.001229083);
    expect(types.get('go_memstats_frees_total')).toBe('counter');
    expect(help.get('go_threads')).toBe('Number of OS threads created.');
  });

  it('OpenMetrics with # EOF, units, _created, exemplars and second timestamps', () => {
    const { samples, types, help } = parseExposition(fixture('openmetrics.om.txt'), { openMetrics: true });
    expect(samples).toHaveLength(27);
    expect([...types]).toEqual([
      ['acme_http_router_request_seconds', 'summary'],
      ['go_goroutines', 'gauge'],
      ['process_cpu_seconds', 'counter'],
      ['http_requests', 'counter'],
      ['rpc_duration_seconds', 'histogram'],
      ['build', 'info'],
      ['feature_flags', 'stateset'],
      ['queue_depth', 'gaugehistogram'],
      ['legacy_mystery', 'unknown'],
    ]);
    expect(help.get('http_requests')).toBe('Requests served, by "code" and handler.\nSecond line.');
    expect(find(samples, 'acme_http_router_request_seconds_count', { path: '/api/v1', method: 'GET' }).value).toBe(
      807283,
    );
    expect(find(samples, 'process_cpu_seconds_created').value).toBe(1605281325);
    expect(find(samples, 'http_requests_total', { code: '200', handler: '/' })).toEqual({
      name: 'http_requests_total',
      labels: { code: '200', handler: '/' },
      value: 1027,
      timestampMs: 1395066363000,
    });
    expect(find(samples, 'http_requests_total', { code: '400', handler: '/' }).timestampMs).toBe(1395066363500);
    expect(find(samples, 'http_requests_created', { code: '200', handler: '/' }).value).toBe(1395066000.123);
    expect(find(samples, 'rpc_duration_seconds_bucket', { le: '+Inf' }).value).toBe(17);
    expect(find(samples, 'rpc_duration_seconds_created').value).toBe(1520430000.123);
    expect(find(samples, 'build_info', { version: '1.2.3', commit: 'abc123' }).value).toBe(1);
    expect(find(samples, 'feature_flags', { feature_flags: 'b' }).value).toBe(0);
    expect(find(samples, 'legacy_mystery').value).toBeNaN();

    expect(metricFamily('process_cpu_seconds_total', types)).toEqual({
      family: 'process_cpu_seconds',
      type: 'counter',
    });
    expect(metricFamily('http_requests_created', types)).toEqual({ family: 'http_requests', type: 'counter' });
    expect(metricFamily('rpc_duration_seconds_created', types)).toEqual({
      family: 'rpc_duration_seconds',
      type: 'histogram',
    });
    expect(metricFamily('build_info', types)).toEqual({ family: 'build', type: 'info' });
    expect(metricFamily('queue_depth_gsum', types)).toEqual({ family: 'queue_depth', type: 'gaugehistogram' });
  });

  it('the OpenMetrics fixture is refused as 0.0.4 at its first timestamp in seconds', () => {
    const e = parseError(fixture('openmetrics.om.txt'));
    expect(e.line).toBe(20);
    expect(e.message).toBe(
      'line 20: invalid timestamp "1395066363.000": "http_requests_total{code=\\"200\\",handler=\\"/\\"} 1027 1395066363.000"',
    );
  });

  it('tricky escapes, spacing and values', () => {
    const { samples, types, help } = parseExposition(fixture('escapes.prom'));
    expect(samples).toHaveLength(35);
    const paths = samples.filter((s) => s.name === 'escapes_total').map((s) => s.labels.path);
    expect(paths).toEqual([
      'C:\\Program Files\\Vitals',
      'say "hi"',
      'two\nlines',
      'unknown \\t and \\x escapes',
      'trailing backslash \\',
      '\\n is not a newline',
      'bräu ☃ 日本語 🚀',
      '{a="b", c}',
      '# not a comment',
      '',
    ]);
    expect(help.get('escapes_total')).toBe('Backslash \\ newline \n quote \\" tab \\t kept as written.');
    expect(find(samples, 'indented_metric').value).toBe(11);
    expect(find(samples, 'spaced_metric', { a: '1', b: '2' })).toEqual({
      name: 'spaced_metric',
      labels: { a: '1', b: '2' },
      value: 12,
      timestampMs: 1700000000000,
    });
    expect(find(samples, 'tabbed_metric', { a: 'x' })).toEqual({
      name: 'tabbed_metric',
      labels: { a: 'x' },
      value: 13,
      timestampMs: -1,
    });
    expect(find(samples, 'no_space_after_brace', { a: '1' }).value).toBe(14);
    expect(find(samples, 'empty_labels').labels).toEqual({});
    expect(find(samples, 'trailing_comma', { a: '1' }).value).toBe(16);
    expect(find(samples, 'colon:metric:name').value).toBe(17);
    expect(find(samples, '_underscore_start', { _label: 'v', label_2: 'w' }).value).toBe(18);

    const values = Object.fromEntries(samples.filter((s) => s.name === 'values').map((s) => [s.labels.kind, s.value]));
    expect(values).toEqual({
      NaN: NaN,
      nan: NaN,
      '+Inf': Infinity,
      '-Inf': -Infinity,
      Inf: Infinity,
      infinity: -Infinity,
      exp: 0.0015,
      'exp+': 2e10,
      neg0: -0,
      dot: 0.5,
      'trailing dot': 5,
      plus: 42,
      'leading zeros': 7,
      big: 1.2345678901234568e29,
      tiny: 5e-324,
    });
    expect(Object.is(values.neg0, -0)).toBe(true);
    expect(types.get('late_typed')).toBe('gauge');
    expect(types.get('late_typed_after')).toBe('counter');
    expect(help.get('late_typed_after')).toBe('Declared after its sample, which 0.0.4 allows.');
  });

  it('every fixture survives format → parse', () => {
    for (const [name, openMetrics] of [
      ['node_exporter.prom', false],
      ['go_client_default.prom', false],
      ['escapes.prom', false],
      ['openmetrics.om.txt', true],
    ] as const) {
      const parsed = parseExposition(fixture(name), { openMetrics });
      const again = parseExposition(formatExposition(parsed.samples, parsed.types, parsed.help));
      expect(again.samples).toEqual(parsed.samples);
      expect(again.help).toEqual(parsed.help);
      if (!openMetrics) expect(again.types).toEqual(parsed.types);
    }
  });
});

describe('parseExposition: edge cases', () => {
  it('accepts empty and blank bodies', () => {
    expect(parseExposition('')).toEqual({ samples: [], types: new Map(), help: new Map() });
    expect(parseExposition('\n\n  \t\n').samples).toEqual([]);
    expect(parseExposition('# just a comment').samples).toEqual([]);
  });

  it('reads HELP and TYPE in any order, anywhere, and ignores other comments', () => {
    const { samples, types, help } = parseExposition(
      [
        'foo 1',
        '# TYPE foo gauge',
        '# some comment',
        '# HELP foo The foo.',
        '#HELP bar not metadata',
        '# HELP',
        '# TYPE',
        '# HELPER bar neither',
        '# TYPE bar histogram',
        'bar_bucket{le="+Inf"} 2',
        '# HELP bar',
        '',
      ].join('\n'),
    );
    expect(samples).toHaveLength(2);
    expect([...types]).toEqual([
      ['foo', 'gauge'],
      ['bar', 'histogram'],
    ]);
    expect([...help]).toEqual([
      ['foo', 'The foo.'],
      ['bar', ''],
    ]);
  });

  it('keeps HELP text after exactly one blank, unescapes \\\\ and \\n and keeps other escapes', () => {
    const { help } = parseExposition('# HELP a   three spaces\n# HELP b x\\\\y\\nz\\"q\\t\n#  \tHELP\tc\ttabs \n');
    expect(help.get('a')).toBe('  three spaces');
    expect(help.get('b')).toBe('x\\y\nz\\"q\\t');
    expect(help.get('c')).toBe('tabs ');
    expect(parseExposition('# HELP b \\"q\\"\n# EOF\n', { openMetrics: true }).help.get('b')).toBe('"q"');
  });

  it('takes the last of repeated HELP and TYPE lines', () => {
    const { types, help } = parseExposition('# TYPE a gauge\n# TYPE a counter\n# HELP a one\n# HELP a two\n');
    expect(types.get('a')).toBe('counter');
    expect(help.get('a')).toBe('two');
  });

  it('tolerates blanks after the type', () => {
    expect(parseExposition('# TYPE a counter  \t\n').types.get('a')).toBe('counter');
  });

  it('accepts CRLF line endings', () => {
    const { samples, help, types } = parseExposition(
      '# HELP a Help.\r\n# TYPE a gauge\r\na{x="y"} 1 1000\r\nb 2\r\n\r\n',
    );
    expect(samples).toEqual([
      { name: 'a', labels: { x: 'y' }, value: 1, timestampMs: 1000 },
      { name: 'b', labels: {}, value: 2 },
    ]);
    expect(help.get('a')).toBe('Help.');
    expect(types.get('a')).toBe('gauge');
    expect(parseExposition('a 1\r\n# EOF\r\n', { openMetrics: true }).samples).toHaveLength(1);
  });

  it('accepts a last line without newline and skips a byte order mark', () => {
    expect(parseExposition('a 1\nb 2').samples.map((s) => s.value)).toEqual([1, 2]);
    expect(parseExposition('\ufeffa 1\n').samples[0].name).toBe('a');
  });

  it('reads label values with escapes, UTF-8 and special characters', () => {
    expect(one('a{v="\\\\"} 1').labels.v).toBe('\\');
    expect(one('a{v="\\""} 1').labels.v).toBe('"');
    expect(one('a{v="\\n"} 1').labels.v).toBe('\n');
    expect(one('a{v="\\\\n"} 1').labels.v).toBe('\\n');
    expect(one('a{v="\\t\\u00e9"} 1').labels.v).toBe('\\t\\u00e9');
    expect(one('a{v="ünïcødé ✓ 🦊"} 1').labels.v).toBe('ünïcødé ✓ 🦊');
    expect(one('a{v="}{,=# "} 1').labels.v).toBe('}{,=# ');
    expect(one('a{v="\r"} 1').labels.v).toBe('\r');
    expect(one('a{v="\u0000"} 1').labels.v).toBe('\u0000');
  });

  it('reads names with colons and underscores, empty and trailing-comma label sets, blanks around tokens', () => {
    expect(one('job:http_requests:rate5m 3')).toEqual({ name: 'job:http_requests:rate5m', labels: {}, value: 3 });
    expect(one('a{} 1')).toEqual({ name: 'a', labels: {}, value: 1 });
    expect(one('a{ } 1')).toEqual({ name: 'a', labels: {}, value: 1 });
    expect(one('a{b="1",} 1').labels).toEqual({ b: '1' });
    expect(one(' \t a { b = "1" , c="2" , } \t 1 \t 5 \t ')).toEqual({
      name: 'a',
      labels: { b: '1', c: '2' },
      value: 1,
      timestampMs: 5,
    });
    expect(one('a{b="1"}2').value).toBe(2);
  });

  it('keeps labels named like Object.prototype members as own properties', () => {
    const s = one('a{__proto__="x",constructor="y",toString="z",hasOwnProperty="w"} 1');
    expect(Object.entries(s.labels)).toEqual([
      ['__proto__', 'x'],
      ['constructor', 'y'],
      ['toString', 'z'],
      ['hasOwnProperty', 'w'],
    ]);
    expect(Object.getPrototypeOf(s.labels)).toBe(Object.prototype);
  });

  it.each([
    ['0', 0],
    ['-0', -0],
    ['+0', 0],
    ['1', 1],
    ['-1', -1],
    ['3.14', 3.14],
    ['1e3', 1000],
    ['1E3', 1000],
    ['1e+3', 1000],
    ['1.5e-3', 0.0015],
    ['-2.5E+2', -250],
    ['.5', 0.5],
    ['5.', 5],
    ['0.1', 0.1],
    ['0.30000000000000004', 0.30000000000000004],
    ['9007199254740993', 9007199254740992],
    ['1.7976931348623157e308', 1.7976931348623157e308],
    ['2.2250738585072014e-308', 2.2250738585072014e-308],
    ['5e-324', 5e-324],
    ['1e-400', 0],
    ['123456789012345678901234567890', 1.2345678901234568e29],
    ['0.000000000000000000000000001', 1e-27],
    ['NaN', NaN],
    ['nan', NaN],
    ['NAN', NaN],
    ['Inf', Infinity],
    ['+Inf', Infinity],
    ['-Inf', -Infinity],
    ['inf', Infinity],
    ['+infinity', Infinity],
    ['-Infinity', -Infinity],
  ])('reads the value %s', (text, value) => {
    expect(Object.is(one(`a ${text}`).value, value)).toBe(true);
  });

  it.each([
    '0x10',
    '0X1p3',
    '1_000',
    '1e',
    '1e+',
    '.',
    '-',
    '+',
    '--1',
    '1.2.3',
    '1e400',
    '-1e400',
    '+NaN',
    '-nan',
    'infin',
    'Infinityy',
    'true',
    '1,5',
    '١',
    '1a',
  ])('refuses the value %j', (text) => {
    const e = parseError(`a ${text}\n`);
    expect(e.line).toBe(1);
    expect(e.reason).toMatch(/^(invalid value|value out of range)/);
  });

  it('reads integer millisecond timestamps', () => {
    expect(one('a 1 1712345678901').timestampMs).toBe(1712345678901);
    expect(one('a 1 0').timestampMs).toBe(0);
    expect(one('a 1 -1000').timestampMs).toBe(-1000);
    expect(one('a 1 9007199254740991').timestampMs).toBe(9007199254740991);
    expect(parseError('a 1 9007199254740992\n').reason).toBe('timestamp out of range');
    expect(parseError('a 1 1.5\n').reason).toBe('invalid timestamp "1.5"');
    expect(parseError('a 1 +5\n').reason).toBe('invalid timestamp "+5"');
    expect(parseError('a 1 1e3\n').reason).toBe('invalid timestamp "1e3"');
  });

  it('reads OpenMetrics timestamps in seconds as milliseconds', () => {
    expect(one('a 1 1520879607.789', true).timestampMs).toBe(1520879607789);
    expect(one('a 1 1520879607', true).timestampMs).toBe(1520879607000);
    expect(one('a 1 1520879607.7899', true).timestampMs).toBe(1520879607789);
    expect(one('a 1 -1.5', true).timestampMs).toBe(-1500);
    expect(one('a 1 1.5e9', true).timestampMs).toBe(1500000000000);
    expect(one('a 1 0.001', true).timestampMs).toBe(1);
    expect(parseError('a 1 NaN\n# EOF\n', true).reason).toBe('invalid timestamp "NaN"');
    expect(parseError('a 1 +Inf\n# EOF\n', true).reason).toBe('invalid timestamp "+Inf"');
  });

  it('reads histograms and summaries as their own samples', () => {
    const { samples, types } = parseExposition(
      [
        '# TYPE h histogram',
        'h_bucket{le="0.5"} 1',
        'h_bucket{le="+Inf"} 2',
        'h_sum 0.7',
        'h_count 2',
        'h_created 1.7e9',
        '# TYPE s summary',
        's{quantile="0.99"} 0.1',
        's_sum 3',
        's_count 30',
        '',
      ].join('\n'),
    );
    expect(samples.map((s) => [s.name, s.labels, s.value])).toEqual([
      ['h_bucket', { le: '0.5' }, 1],
      ['h_bucket', { le: '+Inf' }, 2],
      ['h_sum', {}, 0.7],
      ['h_count', {}, 2],
      ['h_created', {}, 1.7e9],
      ['s', { quantile: '0.99' }, 0.1],
      ['s_sum', {}, 3],
      ['s_count', {}, 30],
    ]);
    expect(samples.map((s) => metricFamily(s.name, types).family)).toEqual(['h', 'h', 'h', 'h', 'h', 's', 's', 's']);
  });

  it('quotes the offending line in the message, truncated to 200 characters', () => {
    const body = Array.from({ length: 11 }, (_, i) => `ok${i} ${i}`).join('\n') + '\nfoo{a="b"} \n';
    const e = parseError(body);
    expect(e.message).toBe('line 12: expected a value after the labels: "foo{a=\\"b\\"} "');
    expect(e.line).toBe(12);
    expect(e.text).toBe('foo{a="b"} ');
    expect(e.name).toBe('ExpositionParseError');
    expect(e).toBeInstanceOf(Error);

    const long = `a{b="${'x'.repeat(1000)}`;
    const truncated = parseError(long);
    expect(truncated.text).toBe(long);
    expect(truncated.message).toBe(
      `line 1: missing closing quote in a label value: ${JSON.stringify(long.slice(0, 200))}… (1005 chars)`,
    );
  });

  it.each<[string, string, number, string]>([
    ['value missing after labels', 'a 1\nfoo{a="b"}\n', 2, 'expected a value after the labels'],
    ['value missing after name', 'foo\n', 1, 'expected a value after the metric name'],
    ['value not a number', 'a 1\n\nb{x="1"} one\n', 3, 'invalid value "one"'],
    ['hex value', 'a 0x1F\n', 1, 'invalid value "0x1F"'],
    ['missing closing brace', 'a 1\nb{x="1" 2\n', 2, 'expected "," or "}" after a label value'],
    ['missing closing brace at end of line', 'b{x="1",\n', 1, 'missing "}" at the end of the label set'],
    ['missing closing quote', 'a 1\nb 2\nc{x="1} 2\n', 3, 'missing closing quote in a label value'],
    ['escaped closing quote', 'c{x="1\\"} 2\n', 1, 'missing closing quote in a label value'],
    ['backslash at end of line', 'c{x="1\\\n', 1, 'missing closing quote in a label value'],
    ['newline inside a label value', 'c{x="a\nb"} 1\n', 1, 'missing closing quote in a label value'],
    ['unquoted label value', 'c{x=1} 2\n', 1, 'expected a quoted label value'],
    ['single-quoted label value', "c{x='1'} 2\n", 1, 'expected a quoted label value'],
    ['duplicate label name', 'a 1\nc{x="1",y="2",x="3"} 2\n', 2, 'duplicate label name "x"'],
    ['__name__ label', 'c{__name__="d"} 2\n', 1, 'the label name "__name__" is reserved for the metric name'],
    ['label name with a dot', 'c{x.y="1"} 2\n', 1, 'invalid character in a label name'],
    ['label name with a colon', 'c{x:y="1"} 2\n', 1, 'invalid character in a label name'],
    ['label name with a dash', 'c{x-y="1"} 2\n', 1, 'invalid character in a label name'],
    ['label name starting with a digit', 'c{1x="1"} 2\n', 1, 'expected a label name'],
    ['label name missing', 'c{="1"} 2\n', 1, 'expected a label name'],
    ['two commas', 'c{x="1",,y="2"} 2\n', 1, 'expected a label name, got ","'],
    ['leading comma', 'c{,} 2\n', 1, 'expected a label name, got ","'],
    ['missing comma', 'c{x="1" y="2"} 2\n', 1, 'expected "," or "}" after a label value'],
    ['missing equals', 'c{x "1"} 2\n', 1, 'expected "=" after the label name "x"'],
    ['label without value', 'c{x} 2\n', 1, 'expected "=" after the label name "x"'],
    ['metric name starting with a digit', '1abc 2\n', 1, 'expected a metric name'],
    ['metric name with a dash', 'a-b 2\n', 1, 'invalid character in the metric name'],
    ['metric name with a dot', 'a 1\na.b 2\n', 2, 'invalid character in the metric name'],
    ['label set without a name', '{a="b"} 2\n', 1, 'expected a metric name'],
    ['too many fields', 'a 1 2 3\n', 1, 'unexpected text after the timestamp'],
    ['timestamp not a number', 'a 1 now\n', 1, 'invalid timestamp "now"'],
    ['TYPE without type', '# TYPE a\n', 1, 'expected a metric type after the metric name'],
    ['TYPE with unknown type', 'a 1\n# TYPE a Counter\n', 2, 'invalid metric type "Counter"'],
    ['TYPE info in 0.0.4', '# TYPE a info\n', 1, 'invalid metric type "info"'],
    ['TYPE with extra text', '# TYPE a counter gauge\n', 1, 'unexpected text after the metric type'],
    ['TYPE without name', '# TYPE  \n', 1, 'expected a metric name after TYPE'],
    ['HELP with a bad name', '# HELP 9a text\n', 1, 'expected a metric name after HELP'],
    ['HELP with a dash in the name', '# HELP a-b text\n', 1, 'invalid character in the metric name after HELP'],
    ['CRLF does not hide errors', 'a 1\r\nb{\r\n', 2, 'missing "}" at the end of the label set'],
    ['blank lines count', '\n\n\n  \nx{\n', 5, 'missing "}" at the end of the label set'],
    ['exemplar in 0.0.4', 'a 1 # {t="1"} 1\n', 1, 'invalid timestamp "#"'],
  ])('refuses %s', (_what, body, line, reason) => {
    const e = parseError(body);
    expect({ line: e.line, reason: e.reason }).toEqual({ line, reason });
    expect(e.message.startsWith(`line ${line}: ${reason}: "`)).toBe(true);
  });

  it.each<[string, string, number, string]>([
    ['missing # EOF', 'a 1\nb 2\n', 2, 'missing "# EOF" at the end of OpenMetrics input (truncated body?)'],
    ['empty body', '', 1, 'missing "# EOF" at the end of OpenMetrics input (truncated body?)'],
    ['content after # EOF', 'a 1\n# EOF\nb 2\n', 3, 'unexpected content after "# EOF"'],
    ['blank line after # EOF', 'a 1\n# EOF\n\n', 3, 'unexpected content after "# EOF"'],
    ['text after EOF', 'a 1\n# EOF now\n', 2, 'unexpected text after "# EOF"'],
    ['untyped in OpenMetrics', '# TYPE a untyped\n# EOF\n', 1, 'invalid metric type "untyped"'],
    ['exemplar without braces', 'a_total 1 # t 1\n# EOF\n', 1, 'expected "{" to start an exemplar'],
    ['exemplar without value', 'a_total 1 # {t="1"}\n# EOF\n', 1, 'expected a value in the exemplar'],
    ['exemplar with bad value', 'a_total 1 # {t="1"} x\n# EOF\n', 1, 'invalid exemplar value "x"'],
    ['exemplar with extra text', 'a_total 1 # {t="1"} 1 2 3\n# EOF\n', 1, 'unexpected text after the exemplar'],
    ['exemplar with duplicate labels', 'a_total 1 # {t="1",t="2"} 1\n# EOF\n', 1, 'duplicate label name "t"'],
  ])('refuses OpenMetrics with %s', (_what, body, line, reason) => {
    const e = parseError(body, true);
    expect({ line: e.line, reason: e.reason }).toEqual({ line, reason });
  });

  it('handles # EOF and # UNIT only in OpenMetrics mode', () => {
    expect(parseExposition('a 1\n# EOF\nb 2\n').samples).toHaveLength(2);
    expect(parseExposition('# UNIT a seconds\n# UNIT a-b x\n').samples).toEqual([]);
    expect(parseError('# UNIT a-b x\n# EOF\n', true).reason).toBe('invalid character in the metric name after UNIT');
    expect(parseExposition('a 1\n# EOF', { openMetrics: true }).samples).toHaveLength(1);
    expect(parseExposition('# EOFX\n# EOF  \n', { openMetrics: true }).samples).toEqual([]);
  });

  it('reads OpenMetrics exemplars on samples with and without timestamp and drops them', () => {
    const { samples } = parseExposition(
      'a_bucket{le="1"} 2 # {trace_id="x y",s="\\""} 0.5\nb_total 3 1.25 # {} 7 1.5\n# EOF\n',
      { openMetrics: true },
    );
    expect(samples).toEqual([
      { name: 'a_bucket', labels: { le: '1' }, value: 2 },
      { name: 'b_total', labels: {}, value: 3, timestampMs: 1250 },
    ]);
  });
});

describe('parseExposition: sample limit', () => {
  const body = 'a 1\nb 2\nc 3\n';

  it('accepts exactly the limit and refuses one more', () => {
    expect(parseExposition(body, { sampleLimit: 3 }).samples).toHaveLength(3);
    expect(() => parseExposition(body, { sampleLimit: 2 })).toThrow(SampleLimitError);
    expect(() => parseExposition(body, { sampleLimit: 2 })).toThrow('sample limit 2 exceeded');
    try {
      parseExposition(body, { sampleLimit: 1 });
    } catch (e) {
      expect(e).toBeInstanceOf(Error);
      expect(e).not.toBeInstanceOf(ExpositionParseError);
      expect((e as SampleLimitError).limit).toBe(1);
      expect((e as SampleLimitError).name).toBe('SampleLimitError');
    }
  });

  it('stops at the limit without reading the rest', () => {
    expect(() => parseExposition('a 1\nb 2\nthis is {{ not valid\n', { sampleLimit: 1 })).toThrow(SampleLimitError);
    expect(() => parseExposition('a 1\nb 2\n', { sampleLimit: 1, openMetrics: true })).toThrow(SampleLimitError);
  });

  it('counts samples only, and 0 means no limit', () => {
    expect(parseExposition('# HELP a x\n# TYPE a gauge\n\na 1\n', { sampleLimit: 1 }).samples).toHaveLength(1);
    expect(parseExposition(body, { sampleLimit: 0 }).samples).toHaveLength(3);
    expect(parseExposition(body, { sampleLimit: -1 }).samples).toHaveLength(3);
  });
});

describe('metricFamily', () => {
  const types = new Map<string, MetricType>([
    ['h', 'histogram'],
    ['s', 'summary'],
    ['c', 'counter'],
    ['g', 'gauge'],
    ['g_count', 'gauge'],
    ['http_requests_total', 'counter'],
  ]);

  it.each<[string, string, MetricType | undefined]>([
    ['h_bucket', 'h', 'histogram'],
    ['h_sum', 'h', 'histogram'],
    ['h_count', 'h', 'histogram'],
    ['h_created', 'h', 'histogram'],
    ['h', 'h', 'histogram'],
    ['s', 's', 'summary'],
    ['s_sum', 's', 'summary'],
    ['s_count', 's', 'summary'],
    ['s_created', 's', 'summary'],
    ['s_bucket', 's_bucket', undefined],
    ['c_total', 'c', 'counter'],
    ['c_created', 'c', 'counter'],
    ['c_sum', 'c_sum', undefined],
    ['g_sum', 'g_sum', undefined],
    ['g_count', 'g_count', 'gauge'],
    ['http_requests_total', 'http_requests_total', 'counter'],
    ['other', 'other', undefined],
    ['_sum', '_sum', undefined],
  ])('%s belongs to %s', (name, family, type) => {
    expect(metricFamily(name, types)).toEqual({ family, type });
  });
});

describe('formatExposition', () => {
  it('writes HELP and TYPE before the family, escapes, and spells special values as Prometheus does', () => {
    const text = formatExposition(
      [
        { name: 'h_bucket', labels: { le: '+Inf' }, value: 3 },
        { name: 'h_sum', labels: {}, value: -0 },
        { name: 'x', labels: { a: 'q"b\\s\nn', b: '' }, value: NaN, timestampMs: 1700000000000 },
        { name: 'y', labels: {}, value: -Infinity },
        { name: 'y', labels: {}, value: 1e21 },
        { name: 'y', labels: {}, value: 1.5e-7 },
      ],
      new Map<string, MetricType>([
        ['h', 'histogram'],
        ['unused', 'info'],
      ]),
      new Map([
        ['h', 'Line one\nback\\slash'],
        ['y', ''],
      ]),
    );
    expect(text).toBe(
      [
        '# HELP h Line one\\nback\\\\slash',
        '# TYPE h histogram',
        'h_bucket{le="+Inf"} 3',
        'h_sum -0',
        'x{a="q\\"b\\\\s\\nn",b=""} NaN 1700000000000',
        '# HELP y ',
        'y -Inf',
        'y 1e+21',
        'y 1.5e-7',
        '# TYPE unused untyped',
        '',
      ].join('\n'),
    );
  });

  it('spells values', () => {
    expect([NaN, Infinity, -Infinity, -0, 0, 1.5, -2e-300].map(formatValue)).toEqual([
      'NaN',
      '+Inf',
      '-Inf',
      '-0',
      '0',
      '1.5',
      '-2e-300',
    ]);
  });

  it('refuses what it cannot write', () => {
    expect(() => formatExposition([{ name: 'a.b', labels: {}, value: 1 }])).toThrow(TypeError);
    expect(() => formatExposition([{ name: 'a', labels: { 'x-y': '1' }, value: 1 }])).toThrow(TypeError);
    expect(() => formatExposition([{ name: 'a', labels: { __name__: 'b' }, value: 1 }])).toThrow(TypeError);
    expect(() => formatExposition([{ name: 'a', labels: {}, value: 1, timestampMs: 1.5 }])).toThrow(TypeError);
    expect(() => formatExposition([], undefined, new Map([['a b', 'x']]))).toThrow(TypeError);
  });
});

// ---- properties ------------------------------------------------------------------------------------------------

const metricName = fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,24}$/);
const labelName = fc
  .oneof(
    { weight: 4, arbitrary: fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,16}$/) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'le', 'quantile'),
    },
  )
  .filter((n) => n !== '__name__');
const trickyChars = fc.constantFrom(
  '\\',
  '"',
  '\n',
  '\r',
  'n',
  '\\n',
  '\\"',
  '{',
  '}',
  ',',
  '=',
  '#',
  ' ',
  '\t',
  'é',
  '🚀',
);
const labelValue = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ unit: trickyChars, maxLength: 12 }),
  // lone surrogates included
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 8 }),
);
const sampleValue = fc.oneof(
  fc.double(),
  fc.constantFrom(NaN, Infinity, -Infinity, -0, 0, Number.MAX_VALUE, -Number.MIN_VALUE, 5e-324, 1e21, 0.1, 1e-7),
  fc.integer(),
  fc.integer({ min: -1e6, max: 1e6 }).map((n) => n / 1000),
);
const timestamp = fc.option(
  fc.oneof(fc.integer({ min: -1e13, max: 4102444800000 }), fc.maxSafeInteger(), fc.constant(-Number.MAX_SAFE_INTEGER)),
  { nil: undefined },
);
const labelsArb = fc
  .uniqueArray(fc.tuple(labelName, labelValue), { selector: ([k]) => k, maxLength: 6 })
  .map((entries) => Object.fromEntries(entries) as Record<string, string>);
const sampleArb = fc
  .record({ name: metricName, labels: labelsArb, value: sampleValue, timestampMs: timestamp })
  .map(({ timestampMs, ...rest }): Sample => (timestampMs === undefined ? rest : { ...rest, timestampMs }));

/** Comparable form: label order and own-property semantics made explicit; toEqual compares numbers with Object.is. */
const comparable = (samples: Sample[]) =>
  samples.map((s) => ({ name: s.name, labels: Object.entries(s.labels), value: s.value, ts: s.timestampMs }));

describe('properties', () => {
  it('format → parse gives back the samples', () => {
    fc.assert(
      fc.property(fc.array(sampleArb, { maxLength: 20 }), (samples) => {
        const parsed = parseExposition(formatExposition(samples));
        expect(comparable(parsed.samples)).toEqual(comparable(samples));
      }),
      { numRuns: 500 },
    );
  });

  it('format → parse gives back samples, types and help of families', () => {
    const type004 = fc.constantFrom<MetricType>('counter', 'gauge', 'histogram', 'summary', 'untyped');
    const helpText = fc
      .oneof(fc.string({ unit: 'binary', maxLength: 30 }), fc.string({ unit: trickyChars, maxLength: 10 }))
      .filter((t) => !t.endsWith('\r')); // a final CR is read as part of a CRLF line ending
    const suffix = fc.constantFrom('', '_bucket', '_sum', '_count', '_created', '_total');
    const families = fc.uniqueArray(fc.tuple(metricName, type004, fc.option(helpText, { nil: undefined })), {
      selector: ([n]) => n,
      maxLength: 6,
    });
    fc.assert(
      fc.property(families, fc.array(fc.tuple(fc.nat(), suffix, sampleArb), { maxLength: 15 }), (fams, picks) => {
        const types = new Map(fams.map(([n, t]) => [n, t]));
        const help = new Map(fams.filter(([, , h]) => h !== undefined).map(([n, , h]) => [n, h as string]));
        const samples = picks.map(([i, sfx, s]) => (fams.length ? { ...s, name: fams[i % fams.length][0] + sfx } : s));
        const parsed = parseExposition(formatExposition(samples, types, help));
        expect(comparable(parsed.samples)).toEqual(comparable(samples));
        expect(parsed.types).toEqual(types);
        expect(parsed.help).toEqual(help);
      }),
      { numRuns: 300 },
    );
  });

  it('reads back samples written with every spacing, spelling and line ending the format allows', () => {
    const blanks = (min: number) => fc.string({ unit: fc.constantFrom(' ', '\t'), minLength: min, maxLength: 3 });
    const spell = (v: number) => {
      if (Number.isNaN(v)) return fc.constantFrom('NaN', 'nan', 'NAN', 'nAn');
      if (v === Infinity) return fc.constantFrom('+Inf', 'Inf', 'inf', '+INF', 'Infinity', '+infinity');
      if (v === -Infinity) return fc.constantFrom('-Inf', '-inf', '-Infinity', '-INFINITY');
      if (Object.is(v, -0)) return fc.constantFrom('-0', '-0.0', '-0e5', '-.0', '-0.');
      return fc.constantFrom(String(v), v.toExponential(), v.toPrecision(17), v.toExponential().toUpperCase());
    };
    const line = sampleArb.chain((s) => {
      const entries = Object.entries(s.labels);
      return fc
        .record({
          indent: blanks(0),
          braces: entries.length > 0 ? fc.constant(true) : fc.boolean(),
          gaps: fc.array(fc.tuple(blanks(0), blanks(0), blanks(0), blanks(0)), {
            minLength: entries.length,
            maxLength: entries.length,
          }),
          trailingComma: entries.length > 0 ? fc.boolean() : fc.constant(false),
          beforeValue: blanks(1),
          value: spell(s.value),
          beforeTimestamp: blanks(1),
          trailing: blanks(0),
          ending: fc.constantFrom('\n', '\r\n'),
          noise: fc.constantFrom('', '\n', '  \n', '# a comment\n', '#HELP x y\n', '# HELP other text\n'),
        })
        .map((f) => {
          let text = f.noise + f.indent + s.name;
          if (f.braces) {
            const pairs = entries.map(([k, v], i) => {
              const [a, b, c, d] = f.gaps[i];
              const escaped = v.replace(/[\\"\n]/g, (ch) => (ch === '\n' ? '\\n' : '\\' + ch));
              return `${a}${k}${b}=${c}"${escaped}"${d}`;
            });
            text += `${f.indent}{${pairs.join(',')}${f.trailingComma ? ',' : ''}}`;
          }
          text += f.beforeValue + f.value;
          if (s.timestampMs !== undefined) text += f.beforeTimestamp + String(s.timestampMs);
          return { sample: s, text: text + f.trailing + f.ending };
        });
    });
    fc.assert(
      fc.property(fc.array(line, { maxLength: 10 }), (lines) => {
        const parsed = parseExposition(lines.map((l) => l.text).join(''));
        expect(comparable(parsed.samples)).toEqual(comparable(lines.map((l) => l.sample)));
      }),
      { numRuns: 1000 },
    );
  });

  it('reads decimal numbers exactly as Number() does', () => {
    const digits = fc.string({ unit: fc.constantFrom('0', '1', '2', '5', '7', '9'), minLength: 1, maxLength: 20 });
    const decimal = fc
      .tuple(
        fc.constantFrom('', '-', '+'),
        digits,
        fc.option(digits, { nil: undefined }),
        fc.option(fc.integer({ min: -330, max: 310 }), { nil: undefined }),
      )
      .map(
        ([sign, int, frac, exp]) =>
          `${sign}${int}${frac === undefined ? '' : '.' + frac}${exp === undefined ? '' : 'e' + exp}`,
      );
    const fromDouble = fc
      .double({ noNaN: true, noDefaultInfinity: true })
      .chain((d) => fc.constantFrom(String(d), d.toExponential(), d.toPrecision(17), d.toFixed(Math.min(20, 5))));
    fc.assert(
      fc.property(fc.oneof(decimal, fromDouble), (text) => {
        const expected = Number(text);
        if (!Number.isFinite(expected)) {
          expect(() => parseExposition(`a ${text}\n`)).toThrow(ExpositionParseError);
          return;
        }
        expect(Object.is(parseExposition(`a ${text}\n`).samples[0].value, expected)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  const expectOnlyOwnErrors = (body: string, options: { openMetrics?: boolean; sampleLimit?: number }): void => {
    try {
      const result = parseExposition(body, options);
      expect(Array.isArray(result.samples)).toBe(true);
    } catch (e) {
      if (e instanceof SampleLimitError) return;
      if (!(e instanceof ExpositionParseError)) throw e;
      const lines = body.split('\n').length;
      expect(e.line).toBeGreaterThanOrEqual(1);
      expect(e.line).toBeLessThanOrEqual(lines);
      expect(e.message.startsWith(`line ${e.line}: ${e.reason}: "`)).toBe(true);
    }
  };
  const optionsArb = fc.record({
    openMetrics: fc.boolean(),
    sampleLimit: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
  });

  it('throws nothing but its own errors for arbitrary strings', () => {
    const alphabet = fc.constantFrom(
      ...'a_:{}="\\,# \t\n\r0123456789.eE+-InfNaEOFHELPTYPEUNIT'.split(''),
      '# HELP ',
      '# TYPE ',
      '# EOF',
      'le="+Inf"',
      'NaN',
      '\ufeff',
      '\u0000',
      '🚀',
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 300 }),
          fc.string({ unit: alphabet, maxLength: 200 }),
          fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 100 }),
        ),
        optionsArb,
        expectOnlyOwnErrors,
      ),
      { numRuns: 3000 },
    );
  });

  it('throws nothing but its own errors for mutations of valid text', () => {
    const valid = fc.oneof(
      fc.constantFrom(
        fixture('node_exporter.prom'),
        fixture('go_client_default.prom'),
        fixture('escapes.prom'),
        fixture('openmetrics.om.txt'),
      ),
      fc.array(sampleArb, { maxLength: 8 }).map((samples) => formatExposition(samples)),
    );
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({
        kind: fc.constant('insert' as const),
        at: fc.nat(),
        text: fc.string({ unit: 'binary', maxLength: 3 }),
      }),
      fc.record({
        kind: fc.constant('insert' as const),
        at: fc.nat(),
        text: fc.constantFrom('"', '\\', '{', '}', ',', '=', '\n', '\r', ' ', '#', 'e', '.', '-', '\u0000'),
      }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 4 }) }),
    );
    fc.assert(
      fc.property(valid, fc.array(mutation, { minLength: 1, maxLength: 4 }), optionsArb, (text, mutations, options) => {
        let body = text;
        for (const m of mutations) {
          const at = body.length === 0 ? 0 : m.at % (body.length + 1);
          if (m.kind === 'truncate') body = body.slice(0, at);
          else if (m.kind === 'insert') body = body.slice(0, at) + m.text + body.slice(at);
          else body = body.slice(0, at) + body.slice(at + m.length);
        }
        expectOnlyOwnErrors(body, options);
      }),
      { numRuns: 2000 },
    );
  });

  it('stays linear on pathological input', () => {
    const n = 200_000;
    expect(() => parseExposition('{'.repeat(n))).toThrow(ExpositionParseError);
    expect(() => parseExposition('a{' + 'b="c",'.repeat(n))).toThrow('duplicate label name "b"');
    const manyLabels = 'a{' + Array.from({ length: 20_000 }, (_, i) => `l${i}="v"`).join(',') + '} 1\n';
    expect(Object.keys(parseExposition(manyLabels).samples[0].labels)).toHaveLength(20_000);
    expect(() => parseExposition(`a{b="${'\\'.repeat(n)}`)).toThrow('missing closing quote in a label value');
    expect(() => parseExposition('a 1' + ' '.repeat(n) + 'x'.repeat(n))).toThrow(ExpositionParseError);
    expect(parseExposition('\n'.repeat(n) + 'a 1').samples).toHaveLength(1);
    expect(parseExposition('#'.repeat(n) + '\n' + `a 0.${'9'.repeat(n)}`).samples[0].value).toBe(1);
  });
});
