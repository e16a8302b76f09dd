/**
 * Errors a person can act on. Only the CLI root turns them into exit codes
 * (0 ok, 1 check/action failed, 2 usage/config, 3 runtime/infrastructure, 130 interrupted).
 */

export abstract class JourneyError extends Error {
  abstract readonly exitCode: number;
  /** What to do next; printed under the message. */
  readonly hint: string | undefined;

  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
  }
}

/** Bad flag, bad config, unknown id, contradictory request: the person must change the request. */
export class UsageError extends JourneyError {
  readonly exitCode = 2;
}

/** A store or broker is unreachable, locked or failing. `retriable` tells a consumer not to commit offsets. */
export class InfrastructureError extends JourneyError {
  readonly exitCode = 3;
  readonly retriable: boolean;

  constructor(message: string, options: { hint?: string; cause?: unknown; retriable?: boolean } = {}) {
    super(message, options);
    this.retriable = options.retriable ?? true;
  }
}

/** A check or steward action ran and its outcome is "failed" (not a crash). */
export class ActionFailedError extends JourneyError {
  readonly exitCode = 1;
}

export class InterruptedError extends JourneyError {
  readonly exitCode = 130;
}

export function isJourneyError(error: unknown): error is JourneyError {
  return error instanceof JourneyError;
}

export function describeCause(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
