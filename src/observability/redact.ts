/** Keys whose values are secrets wherever they appear in a log line. */
const SECRET_KEY =
  /^(authorization|proxy-authorization|cookie|set-cookie|password|passwd|secret|token|api[_-]?key|api[_-]?tokens?|access[_-]?token|refresh[_-]?token|x-api-key|private[_-]?token)$/i;
const REDACTED = '<redacted>';

/** Secrets inside free text: bearer and basic credentials, and passwords in URLs. */
const TEXT_PATTERNS: Array<[RegExp, string]> = [
  [/\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${REDACTED}`],
  [/([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\s/@]+@/gi, `$1:${REDACTED}@`],
];

export function redactText(text: string): string {
  let result = text;
  for (const [pattern, replacement] of TEXT_PATTERNS) result = result.replace(pattern, replacement);
  return result;
}

/** A copy of `value` with secret-named keys and secrets in strings redacted, at any depth. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value);
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  if (value instanceof Error) return redactText(value.message);
  const result: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) result[key] = redactField(key, item, depth + 1);
  return result;
}

/** The value of field `key`, redacted. */
export function redactField(key: string, value: unknown, depth = 0): unknown {
  return SECRET_KEY.test(key) ? REDACTED : redact(value, depth);
}
