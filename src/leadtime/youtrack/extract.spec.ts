import { toImportedIssue } from './extract';
import { retryAfter } from './http';
import { buildQuery } from './client';
import { DEFAULT_FIELD_MAPPING, YouTrackError, type FieldMapping } from './types';
import { findCustomField, valueMinutes, valueNames, valueNumber, valueText } from './values';

const mapping: FieldMapping = { ...DEFAULT_FIELD_MAPPING, leadTime: 'Lead time' };
const T0 = Date.UTC(2025, 0, 6, 9, 0);
const HOUR = 3_600_000;

describe('custom field value readers', () => {
  it.each<[unknown, string | null]>([
    [{ $type: 'EnumBundleElement', name: 'Core' }, 'Core'],
    [{ $type: 'StateBundleElement', name: 'In Progress' }, 'In Progress'],
    [{ $type: 'User', login: 'jane', fullName: 'Jane Doe' }, 'Jane Doe'],
    [{ $type: 'User', login: 'jane', fullName: '' }, 'jane'],
    [{ $type: 'PeriodValue', minutes: 90, presentation: '1h 30m' }, '1h 30m'],
    [{ $type: 'TextFieldValue', text: ' notes ' }, 'notes'],
    [[{ name: 'First' }, { name: 'Second' }], 'First'],
    [[null, { name: 'Second' }], 'Second'],
    ['  plain  ', 'plain'],
    [3, '3'],
    [null, null],
    [undefined, null],
    ['', null],
    [true, null],
    [{ $type: 'Whatever', colour: 'red' }, null],
    [[], null],
    [NaN, null],
  ])('valueText(%j) = %j', (value, expected) => {
    expect(valueText(value)).toBe(expected);
  });

  it.each<[unknown, number | null]>([
    [3, 3],
    [2.5, 2.5],
    ['3', 3],
    [' 2,5 ', 2.5],
    ['.5', 0.5],
    [{ $type: 'EnumBundleElement', name: '8' }, 8],
    [[{ name: '13' }], 13],
    ['three', null],
    ['3 points', null],
    ['', null],
    [null, null],
    [Infinity, null],
    [{ minutes: 5 }, null],
    [[1, 2], null],
  ])('valueNumber(%j) = %j', (value, expected) => {
    expect(valueNumber(value)).toBe(expected);
  });

  it('reads period minutes only from a PeriodValue', () => {
    expect(valueMinutes({ $type: 'PeriodValue', minutes: 0, presentation: '?' })).toBe(0);
    expect(valueMinutes({ $type: 'PeriodValue', minutes: 2400, presentation: '1w' })).toBe(2400);
    expect(valueMinutes([{ minutes: 10 }])).toBe(10);
    expect(valueMinutes({ minutes: '10' })).toBeNull();
    expect(valueMinutes({ minutes: -1 })).toBeNull();
    expect(valueMinutes(10)).toBeNull();
    expect(valueMinutes(null)).toBeNull();
  });

  it('reads multi-value fields as names, a single value as a list of one', () => {
    expect(valueNames([{ name: 'S1' }, { name: 'S2' }, { name: 'S1' }, null, 7, [{ name: 'nested' }]])).toEqual([
      'S1',
      'S2',
      '7',
    ]);
    expect(valueNames({ name: 'S1' })).toEqual(['S1']);
    expect(valueNames('S1')).toEqual(['S1']);
    expect(valueNames(null)).toEqual([]);
    expect(valueNames({ unknown: true })).toEqual([]);
  });

  it('finds custom fields by exact name first, then ignoring case', () => {
    const fields = [{ name: 'state', value: 'lower' }, { name: 'State', value: 'exact' }, 'junk', null];
    expect(findCustomField(fields, 'State')?.value).toBe('exact');
    expect(findCustomField(fields, 'STATE')?.value).toBe('lower');
    expect(findCustomField(fields, 'Team')).toBeUndefined();
    expect(findCustomField({ not: 'an array' }, 'State')).toBeUndefined();
  });
});

describe('toImportedIssue', () => {
  const issue = (extra: Record<string, unknown> = {}) => ({
    idReadable: 'VIT-1',
    summary: 'Something',
    created: T0,
    updated: T0 + 10 * HOUR,
    resolved: T0 + 10 * HOUR,
    customFields: [],
    ...extra,
  });
  const stateChange = (at: number, to: string, from = 'Open', field = 'State') => ({
    $type: 'CustomFieldActivityItem',
    timestamp: at,
    category: { id: 'CustomFieldCategory' },
    field: { name: field },
    added: [{ name: to, $type: 'StateBundleElement' }],
    removed: [{ name: from, $type: 'StateBundleElement' }],
  });

  it('refuses issues without idReadable or created, naming the problem', () => {
    expect(() => toImportedIssue(null, [], mapping)).toThrow(YouTrackError);
    expect(() => toImportedIssue(issue({ idReadable: undefined }), [], mapping)).toThrow(/no idReadable/);
    expect(() => toImportedIssue(issue({ created: 'yesterday' }), [], mapping)).toThrow(/VIT-1 has no valid "created"/);
  });

  it('tolerates missing summary, updated and customFields', () => {
    const imported = toImportedIssue({ idReadable: 'VIT-2', created: T0, resolved: null }, [], mapping);
    expect(imported).toMatchObject({
      key: 'VIT-2',
      summary: '',
      updatedAt: new Date(T0),
      resolvedAt: null,
      team: null,
      sprints: [],
      leadTimeSeconds: null,
      leadTimeRule: 'created',
    });
  });

  it('skips activities it does not understand, and takes a single-object "added" as well as a list', () => {
    const activities = [
      null,
      'junk',
      { timestamp: 'soon', category: { id: 'CustomFieldCategory' }, field: { name: 'State' }, added: [] },
      { $type: 'CommentActivityItem', timestamp: T0 + HOUR, category: { id: 'CommentsCategory' }, added: [] },
      { ...stateChange(T0 + 3 * HOUR, 'In Progress'), added: { name: 'In Progress' } },
      stateChange(T0 + 2 * HOUR, 'In Progress', 'Open', 'Priority'),
    ];
    const imported = toImportedIssue(issue(), activities, mapping);
    expect(imported.startedAt).toEqual(new Date(T0 + 3 * HOUR));
    expect(imported.leadTimeRule).toBe('activities');
    expect(imported.leadTimeSeconds).toBe(7 * 3600);
  });

  it('ignores an in-progress transition after the resolution (resolved straight away, reopened later)', () => {
    const imported = toImportedIssue(issue(), [stateChange(T0 + 20 * HOUR, 'In Progress')], mapping);
    expect(imported.startedAt).toEqual(new Date(T0 + 20 * HOUR));
    expect(imported.leadTimeRule).toBe('created');
    expect(imported.leadTimeSeconds).toBe(10 * 3600);
  });

  it('rounds lead times to whole seconds', () => {
    const imported = toImportedIssue(issue({ resolved: T0 + 1_499 }), [], mapping);
    expect(imported.leadTimeSeconds).toBe(1);
  });
});

describe('buildQuery', () => {
  it('adds a stable order', () => {
    expect(buildQuery('project: VIT')).toBe('project: VIT sort by: created asc');
    expect(buildQuery('  ')).toBe('sort by: created asc');
  });

  it('keeps a query that sorts itself as it is', () => {
    expect(buildQuery('project: VIT sort by: updated desc')).toBe('project: VIT sort by: updated desc');
  });

  it('widens the updated condition by a day, to the minute, in UTC', () => {
    expect(buildQuery('project: VIT', new Date('2025-03-10T10:15:42.123Z'))).toBe(
      'project: VIT updated: 2025-03-09T10:15 .. * sort by: created asc',
    );
  });

  it('keeps an "or" query whole before adding conditions', () => {
    expect(buildQuery('project: A or project: B', new Date('2025-03-10T00:00:00Z'))).toBe(
      '(project: A or project: B) updated: 2025-03-09T00:00 .. * sort by: created asc',
    );
  });
});

describe('retryAfter', () => {
  const now = Date.UTC(2025, 0, 1, 12, 0, 0);
  it.each<[string | string[] | undefined, number | undefined]>([
    ['1', 1000],
    ['0', 0],
    [' 2 ', 2000],
    [['3', '4'], 3000],
    ['86400', 120_000],
    [new Date(now + 5000).toUTCString(), 5000],
    [new Date(now - 5000).toUTCString(), 0],
    ['soon', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('Retry-After %j waits %j ms', (header, expected) => {
    expect(retryAfter(header, now)).toBe(expected);
  });
});
