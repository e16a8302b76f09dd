/**
 * A data-quality check as configured: the fields every check has, plus the parameters of its
 * type (declared by the type's file in src/checks/kinds/). Lives in domain/ so the config can
 * carry parsed checks without depending on how they are measured.
 */
export type Severity = 'warn' | 'error';

/** A threshold: the measured value is a breach when above `above` or below `below`. */
export interface Bound {
  above?: number;
  below?: number;
}

export interface CheckBase {
  name: string;
  description: string;
  tags: string[];
  severity: Severity;
  warnIf?: Bound;
  errorIf?: Bound;
}

/** A parsed check: the common fields, its type and its type's parameters (P). */
export type CheckDefinition<P extends object = Record<string, unknown>> = CheckBase & { type: string } & P;

/** Parses a `checks` list; `baseDir` resolves relative paths. Every problem names its check. */
export type ChecksParser = (value: unknown, baseDir: string) => { checks: CheckDefinition[]; errors: string[] };
