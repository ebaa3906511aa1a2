import { DEFAULT_FIELD_MAPPING, parseFieldMapping } from './types';

describe('parseFieldMapping', () => {
  it('keeps the stock YouTrack defaults for an empty document', () => {
    expect(parseFieldMapping('')).toEqual(DEFAULT_FIELD_MAPPING);
    expect(parseFieldMapping('# nothing mapped\n')).toEqual({
      team: 'Team',
      type: 'Type',
      sprint: 'Sprint',
      storyPoints: 'Story points',
      state: 'State',
      leadTime: undefined,
      inProgressStates: ['In Progress'],
    });
  });

  it('reads every key, and fills what is left out from the defaults', () => {
    const mapping = parseFieldMapping(
      [
        'team: Squad',
        'storyPoints: " Estimation "',
        'leadTime: Cycle time',
        'inProgressStates:',
        '  - In Progress',
        '  - In Review',
      ].join('\n'),
    );
    expect(mapping).toEqual({
      team: 'Squad',
      type: 'Type',
      sprint: 'Sprint',
      storyPoints: 'Estimation',
      state: 'State',
      leadTime: 'Cycle time',
      inProgressStates: ['In Progress', 'In Review'],
    });
  });

  it('accepts snake_case spellings and null for "no precomputed lead time"', () => {
    const mapping = parseFieldMapping('story_points: SP\nlead_time: null\nin_progress_states: [Doing]');
    expect(mapping.storyPoints).toBe('SP');
    expect(mapping.leadTime).toBeUndefined();
    expect(mapping.inProgressStates).toEqual(['Doing']);
  });

  it('never hands out or changes the shared defaults', () => {
    const mapping = parseFieldMapping('');
    mapping.inProgressStates.push('Doing');
    expect(DEFAULT_FIELD_MAPPING.inProgressStates).toEqual(['In Progress']);
    expect(Object.isFrozen(DEFAULT_FIELD_MAPPING)).toBe(true);
  });

  it.each([
    ['teams: Squad', /unknown key "teams"/],
    ['team: 42', /"team" must be a non-empty custom field name/],
    ['state: ""', /"state" must be a non-empty custom field name/],
    ['sprint: [A, B]', /"sprint" must be a non-empty custom field name/],
    ['leadTime: 90', /"leadTime" must be the name of a period field/],
    ['inProgressStates: In Progress', /"inProgressStates" must be a non-empty list/],
    ['inProgressStates: []', /"inProgressStates" must be a non-empty list/],
    ['in_progress_states: [Doing, ""]', /"in_progress_states\[1\]" must be a non-empty state name/],
    ['storyPoints: SP\nstory_points: SP', /"story_points" repeats "storyPoints"/],
    ['- team\n- type', /expected a mapping .* got a list/],
    ['just text', /expected a mapping .* got string/],
    ['team: [unclosed', /not valid YAML/],
  ])('rejects %j', (yamlText, message) => {
    expect(() => parseFieldMapping(yamlText)).toThrow(message);
  });
});
