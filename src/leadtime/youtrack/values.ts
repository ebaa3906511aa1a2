/**
 * Readers for YouTrack custom field values. A `value` may be null, a scalar, an object (`$type` EnumBundleElement,
 * StateBundleElement, User, PeriodValue, ...) or an array of objects; none of these readers throws, and a shape
 * they do not recognise reads as null.
 */

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  return trimmed === '' ? null : trimmed;
}

/** The display text of a single value: a bundle element's name, a user's full name or login, a plain string. */
export function valueText(value: unknown): string | null {
  if (typeof value === 'string') return text(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : null;
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = valueText(item);
      if (found !== null) return found;
    }
    return null;
  }
  if (isRecord(value)) {
    return (
      text(value.name) ?? text(value.fullName) ?? text(value.login) ?? text(value.presentation) ?? text(value.text)
    );
  }
  return null;
}

/** Every name of a multi-value field (sprints, versions); a single value reads as a list of one. */
export function valueNames(value: unknown): string[] {
  const items = Array.isArray(value) ? value : [value];
  const names: string[] = [];
  for (const item of items) {
    if (Array.isArray(item)) continue;
    const name = valueText(item);
    if (name !== null && !names.includes(name)) names.push(name);
  }
  return names;
}

const NUMBER = /^[+-]?(\d+([.,]\d*)?|[.,]\d+)$/;

/** A number, from a number, a numeric string ("3", "2.5", "2,5") or an enum element named like one. */
export function valueNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (!NUMBER.test(trimmed)) return null;
    const parsed = Number(trimmed.replace(',', '.'));
    return Number.isFinite(parsed) ? parsed : null;
  }
  if (Array.isArray(value)) return value.length === 1 ? valueNumber(value[0]) : null;
  if (isRecord(value)) return valueNumber(value.name ?? value.presentation ?? null);
  return null;
}

/** The minutes of a PeriodValue (`{ minutes, presentation, $type: 'PeriodValue' }`); anything else is null. */
export function valueMinutes(value: unknown): number | null {
  if (Array.isArray(value)) return value.length === 1 ? valueMinutes(value[0]) : null;
  if (!isRecord(value)) return null;
  const minutes = value.minutes;
  return typeof minutes === 'number' && Number.isFinite(minutes) && minutes >= 0 ? minutes : null;
}

/** The custom field of that name (exact match first, then ignoring case as YouTrack does), if the issue has it. */
export function findCustomField(customFields: unknown, name: string): Record<string, unknown> | undefined {
  if (!Array.isArray(customFields)) return undefined;
  const fields = customFields.filter(isRecord);
  const exact = fields.find((field) => field.name === name);
  if (exact) return exact;
  const lower = name.toLowerCase();
  return fields.find((field) => typeof field.name === 'string' && field.name.toLowerCase() === lower);
}
