import { parse as parseYaml } from 'yaml';

/**
 * Names of the YouTrack custom fields Vitals reads. Every instance names its fields as it likes; the defaults match
 * a stock YouTrack project.
 */
export interface FieldMapping {
  /** Enum (or any single-value) field holding the team. */
  team: string;
  /** Issue type (Bug, Task, ...). */
  type: string;
  /** Multi-value field holding the issue's sprints (the field an agile board manages its sprints by). */
  sprint: string;
  /** Story points: a number field, or a string/enum field whose value reads as a number. */
  storyPoints: string;
  /** State, either a state field or a state-machine field. */
  state: string;
  /** Optional precomputed lead time: a period field, in minutes. */
  leadTime?: string;
  /** States that mean "work has started"; the first transition into one of them starts the lead time. */
  inProgressStates: string[];
}

export const DEFAULT_FIELD_MAPPING: FieldMapping = Object.freeze({
  team: 'Team',
  type: 'Type',
  sprint: 'Sprint',
  storyPoints: 'Story points',
  state: 'State',
  leadTime: undefined,
  inProgressStates: Object.freeze(['In Progress']) as string[],
});

const STRING_KEYS = ['team', 'type', 'sprint', 'storyPoints', 'state'] as const;
/** snake_case spellings accepted for YAML authors. */
const ALIASES: Record<string, keyof FieldMapping> = {
  story_points: 'storyPoints',
  lead_time: 'leadTime',
  in_progress_states: 'inProgressStates',
};
const KNOWN_KEYS: ReadonlyArray<keyof FieldMapping> = [...STRING_KEYS, 'leadTime', 'inProgressStates'];

/**
 * Reads a field mapping from YAML, for example:
 *
 * ```yaml
 * team: Team
 * type: Type
 * sprint: Sprint
 * storyPoints: Story points
 * state: State
 * leadTime: Lead time          # optional: a period field in minutes
 * inProgressStates: [In Progress, In Review]
 * ```
 *
 * Keys left out keep their default. Throws an Error naming the offending key.
 */
export function parseFieldMapping(yamlText: string): FieldMapping {
  let document: unknown;
  try {
    document = parseYaml(yamlText);
  } catch (error) {
    throw new Error(`field mapping: not valid YAML: ${(error as Error).message}`);
  }
  const mapping: FieldMapping = {
    ...DEFAULT_FIELD_MAPPING,
    inProgressStates: [...DEFAULT_FIELD_MAPPING.inProgressStates],
  };
  if (document === null || document === undefined) return mapping;
  if (typeof document !== 'object' || Array.isArray(document)) {
    throw new Error(
      `field mapping: expected a mapping with the keys ${KNOWN_KEYS.join(', ')}, got ${Array.isArray(document) ? 'a list' : typeof document}`,
    );
  }
  const seen = new Map<keyof FieldMapping, string>();
  for (const [rawKey, value] of Object.entries(document as Record<string, unknown>)) {
    const key =
      ALIASES[rawKey] ??
      (KNOWN_KEYS.includes(rawKey as keyof FieldMapping) ? (rawKey as keyof FieldMapping) : undefined);
    if (!key) throw new Error(`field mapping: unknown key "${rawKey}" (expected one of ${KNOWN_KEYS.join(', ')})`);
    const previous = seen.get(key);
    if (previous !== undefined) throw new Error(`field mapping: "${rawKey}" repeats "${previous}"`);
    seen.set(key, rawKey);
    if (key === 'inProgressStates') {
      if (!Array.isArray(value) || value.length === 0) {
        throw new Error(`field mapping: "${rawKey}" must be a non-empty list of state names`);
      }
      mapping.inProgressStates = value.map((item, index) => {
        if (typeof item !== 'string' || item.trim() === '') {
          throw new Error(`field mapping: "${rawKey}[${index}]" must be a non-empty state name`);
        }
        return item.trim();
      });
    } else if (key === 'leadTime') {
      if (value === null) {
        mapping.leadTime = undefined;
      } else if (typeof value === 'string' && value.trim() !== '') {
        mapping.leadTime = value.trim();
      } else {
        throw new Error(`field mapping: "${rawKey}" must be the name of a period field, or null for none`);
      }
    } else {
      if (typeof value !== 'string' || value.trim() === '') {
        throw new Error(`field mapping: "${rawKey}" must be a non-empty custom field name`);
      }
      mapping[key] = value.trim();
    }
  }
  return mapping;
}

/** One issue as Vitals stores it. */
export interface ImportedIssue {
  /** idReadable, e.g. "VIT-12". */
  key: string;
  summary: string;
  team: string | null;
  type: string | null;
  /** Current sprints (empty when none). */
  sprints: string[];
  storyPoints: number | null;
  state: string | null;
  createdAt: Date;
  resolvedAt: Date | null;
  updatedAt: Date;
  /** First transition into one of the in-progress states (from the activities), if any. */
  startedAt: Date | null;
  /** Whole seconds; null while the issue is unresolved. */
  leadTimeSeconds: number | null;
  /** The rule the lead time comes from (for an unresolved issue: the rule that would apply now). */
  leadTimeRule: 'field' | 'activities' | 'created';
  /** Sprint membership changes (SprintCategory activities), oldest first. */
  sprintHistory: Array<{ sprint: string; added: boolean; at: Date }>;
}

export type YouTrackErrorKind = 'auth' | 'http' | 'malformed' | 'network';

/** A failed import. Messages name the request path, never the token. */
export class YouTrackError extends Error {
  constructor(
    message: string,
    readonly kind: YouTrackErrorKind,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'YouTrackError';
  }
}
