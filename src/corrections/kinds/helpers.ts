import type { EventFilter, SessionRef } from '../../domain/correction.js';
import { UsageError } from '../../errors.js';
import type { CorrectionPorts } from './kind.js';

/** `--user` names a person as `inspect` does: an id merged or stitched into another user resolves to that user. */
export async function personFilter(ports: Pick<CorrectionPorts, 'canonicalOf'>, filter: EventFilter): Promise<EventFilter> {
  if (filter.userId === undefined) return filter;
  const person = (await ports.canonicalOf([filter.userId])).get(filter.userId) ?? filter.userId;
  return { ...filter, userId: person };
}

export const plain = (ref: SessionRef): SessionRef => ({ sessionId: ref.sessionId, userId: ref.userId, firstMessageId: ref.firstMessageId });

export function checkCode(code: string): string {
  if (!/^[a-z][a-z0-9_]*$/.test(code)) throw new UsageError(`--code "${code}" must be snake_case (e.g. release_burst, confirmed_bot)`);
  return code;
}

/** "event=x app_version=y …", or "all events". */
export function describeFilter(f: EventFilter): string {
  return (
    [
      f.event && `event=${f.event}`,
      f.appVersion && `app_version=${f.appVersion}`,
      f.userId && `user=${f.userId}`,
      f.since !== undefined && `since=${new Date(f.since).toISOString()}`,
      f.until !== undefined && `until=${new Date(f.until).toISOString()}`,
    ]
      .filter(Boolean)
      .join(' ') || 'all events'
  );
}

/** A kind's required filter (the fix command reads --event… into options.filter). */
export function filterOf(options: { filter?: EventFilter }): EventFilter {
  return options.filter ?? {};
}
