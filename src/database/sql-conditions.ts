/**
 * Builds a parameterised WHERE clause: each condition gets its value as the next `$n` placeholder, so filters
 * compose without counting placeholders by hand.
 */
export class SqlConditions {
  private readonly conditions: string[] = [];

  constructor(readonly parameters: unknown[] = []) {}

  /** The placeholder (`$n`) for one more parameter. */
  parameter(value: unknown): string {
    this.parameters.push(value);
    return `$${this.parameters.length}`;
  }

  /** Adds `condition(placeholder)` with `value` as that placeholder's parameter. */
  add(condition: (placeholder: string) => string, value: unknown): this {
    this.conditions.push(condition(this.parameter(value)));
    return this;
  }

  /** Adds a condition with no parameter of its own. */
  raw(condition: string): this {
    this.conditions.push(condition);
    return this;
  }

  /** `a AND b`, or `TRUE` without conditions. */
  and(): string {
    return this.conditions.length > 0 ? this.conditions.join(' AND ') : 'TRUE';
  }

  /** `WHERE a AND b`, or nothing without conditions. */
  where(): string {
    return this.conditions.length > 0 ? `WHERE ${this.and()}` : '';
  }
}
