import { YouTrackError, type FieldMapping, type ImportedIssue } from './types';
import { findCustomField, isRecord, valueMinutes, valueNames, valueNumber, valueText } from './values';

/**
 * Turns one issue of `/api/issues` and its activities (`CustomFieldCategory` and `SprintCategory`) into an
 * ImportedIssue. Pure: no I/O.
 *
 * Lead time, first rule that applies:
 * 1. 'field': the mapping's precomputed period field (minutes) when the issue has it with a value;
 * 2. 'activities': from the first transition into an in-progress state to resolution (ignored when that
 *    transition comes after the resolution, e.g. an issue resolved straight from Open and reopened later);
 * 3. 'created': from creation to resolution.
 * Unresolved issues have no lead time (null) but still report the rule that applies so far.
 */
export function toImportedIssue(raw: unknown, activities: readonly unknown[], mapping: FieldMapping): ImportedIssue {
  if (!isRecord(raw)) throw new YouTrackError('an issue in the response is not an object', 'malformed');
  const key = raw.idReadable;
  if (typeof key !== 'string' || key === '') {
    throw new YouTrackError('an issue in the response has no idReadable', 'malformed');
  }
  const createdAt = toDate(raw.created);
  if (!createdAt) throw new YouTrackError(`issue ${key} has no valid "created" timestamp`, 'malformed');
  const updatedAt = toDate(raw.updated) ?? createdAt;
  const resolvedAt = toDate(raw.resolved);
  const fields = raw.customFields;
  const value = (name: string | undefined): unknown =>
    name === undefined ? undefined : findCustomField(fields, name)?.value;

  const startedAt = firstStart(activities, mapping);
  const leadMinutes = mapping.leadTime === undefined ? null : valueMinutes(value(mapping.leadTime));

  let leadTimeRule: ImportedIssue['leadTimeRule'];
  let leadTimeSeconds: number | null = null;
  if (leadMinutes !== null) {
    leadTimeRule = 'field';
    if (resolvedAt) leadTimeSeconds = Math.round(leadMinutes * 60);
  } else if (startedAt && (!resolvedAt || startedAt.getTime() <= resolvedAt.getTime())) {
    leadTimeRule = 'activities';
    if (resolvedAt) leadTimeSeconds = Math.round((resolvedAt.getTime() - startedAt.getTime()) / 1000);
  } else {
    leadTimeRule = 'created';
    if (resolvedAt) leadTimeSeconds = Math.max(0, Math.round((resolvedAt.getTime() - createdAt.getTime()) / 1000));
  }

  return {
    key,
    summary: typeof raw.summary === 'string' ? raw.summary : '',
    team: valueText(value(mapping.team)),
    type: valueText(value(mapping.type)),
    sprints: valueNames(value(mapping.sprint)),
    storyPoints: valueNumber(value(mapping.storyPoints)),
    state: valueText(value(mapping.state)),
    createdAt,
    resolvedAt,
    updatedAt,
    startedAt,
    leadTimeSeconds,
    leadTimeRule,
    sprintHistory: sprintHistory(activities, mapping),
  };
}

function toDate(value: unknown): Date | null {
  return typeof value === 'number' && Number.isFinite(value) ? new Date(value) : null;
}

interface Activity {
  at: number;
  kind: 'field' | 'sprint';
  field: string | null;
  added: string[];
  removed: string[];
}

/** The activities this import understands, oldest first; anything else (or malformed) is skipped. */
function readActivities(activities: readonly unknown[]): Activity[] {
  const result: Activity[] = [];
  for (const item of activities) {
    if (!isRecord(item) || typeof item.timestamp !== 'number' || !Number.isFinite(item.timestamp)) continue;
    const category = isRecord(item.category) ? item.category.id : undefined;
    const kind =
      category === 'SprintCategory' || item.$type === 'SprintActivityItem'
        ? 'sprint'
        : category === 'CustomFieldCategory' || item.$type === 'CustomFieldActivityItem'
          ? 'field'
          : undefined;
    if (!kind) continue;
    result.push({
      at: item.timestamp,
      kind,
      field: isRecord(item.field) && typeof item.field.name === 'string' ? item.field.name : null,
      added: valueNames(item.added ?? null),
      removed: valueNames(item.removed ?? null),
    });
  }
  // Stable: activities with equal timestamps keep YouTrack's order.
  return result.sort((a, b) => a.at - b.at);
}

function sameName(a: string | null, b: string): boolean {
  return a !== null && a.trim().toLowerCase() === b.trim().toLowerCase();
}

function firstStart(activities: readonly unknown[], mapping: FieldMapping): Date | null {
  const states = mapping.inProgressStates.map((state) => state.trim().toLowerCase());
  for (const activity of readActivities(activities)) {
    if (activity.kind !== 'field' || !sameName(activity.field, mapping.state)) continue;
    if (activity.added.some((state) => states.includes(state.toLowerCase()))) return new Date(activity.at);
  }
  return null;
}

/**
 * Sprint membership changes: SprintActivityItems (the agile board's sprints) and changes of the mapping's sprint
 * custom field, which YouTrack may report for the same move; exact repeats are dropped.
 */
function sprintHistory(activities: readonly unknown[], mapping: FieldMapping): ImportedIssue['sprintHistory'] {
  const history: ImportedIssue['sprintHistory'] = [];
  const seen = new Set<string>();
  const push = (sprint: string, added: boolean, at: number) => {
    const id = `${at}\u0000${added}\u0000${sprint}`;
    if (seen.has(id)) return;
    seen.add(id);
    history.push({ sprint, added, at: new Date(at) });
  };
  for (const activity of readActivities(activities)) {
    if (activity.kind === 'field' && !sameName(activity.field, mapping.sprint)) continue;
    for (const sprint of activity.removed) push(sprint, false, activity.at);
    for (const sprint of activity.added) push(sprint, true, activity.at);
  }
  return history;
}
