/**
 * What a correction kind declares, in one file under src/corrections/kinds/: how the `fix`
 * subcommand reads it and checks it against the stores (cli + validate), what derivation does
 * with it (compile into the plan, or edit events), which users it touches (affects), which
 * sessions it bears on (touches), and its one-line description. A registry is an explicit list
 * (src/corrections/kinds/registry.ts); nothing registers itself on import.
 */
import type { Correction, CorrectionChange, EventFilter, SessionRef } from '../../domain/correction.js';
import type { StoredEvent } from '../../domain/event.js';
import { indexKinds } from '../../domain/registry.js';
import type { Session, SessionEvent } from '../../domain/session.js';
import type { CorrectionPlan } from '../plan.js';

/** A stored session as `fix` validation sees it. */
export type SessionLookup = SessionRef & { startedAt: number; messageIds: string[]; flags: string[] };

/** What validation reads, built from the stores by the fix command (corrections sit below the stores). */
export interface CorrectionPorts {
  existing: readonly Correction[];
  canonicalOf(ids: readonly string[]): Promise<Map<string, string>>;
  identityKeysForEvents(filter: EventFilter): Promise<string[]>;
  identityKeysOfMessages(ids: readonly string[]): Promise<Map<string, string>>;
  /** A stored session; a UsageError when there is none. */
  session(sessionId: string): Promise<SessionLookup>;
  /** Sessions starting in [from, to). */
  sessionsBetween(range: { from: number; to: number }): AsyncIterable<{ sessionId: string; userId: string }>;
  /** The identity chain of an id with the recorded corrections in effect (src/pipeline/stitch-identities.ts). */
  identityChain(id: string): Promise<string[]>;
}

/** What `affects` reads: stored events by filter, and the keys of another change (a revert's target). */
export interface AffectsPorts extends Pick<CorrectionPorts, 'identityKeysForEvents'> {
  affectsOf(change: CorrectionChange): Promise<string[]>;
}

/** The fix subcommand of a kind: `journeyctl fix <command> <arguments> [options]`. */
export interface CorrectionCli {
  command: string;
  description: string;
  arguments?: ReadonlyArray<{ name: string; description?: string }>;
  options?: ReadonlyArray<{ flags: string; description: string; required?: boolean }>;
  /** Takes the event filters (--event, --app-version, --user, --since, --until, --tz). */
  filters?: boolean;
  /** The arguments (in order) and options (camelCase, filters already read into `filter`) to a validated change. */
  build(args: string[], options: Record<string, unknown> & { filter?: EventFilter }): (ports: CorrectionPorts) => Promise<{ kind: string }>;
}

/** Where a session stands for `touches`. */
export interface SessionView {
  session: Session;
  events: readonly SessionEvent[];
  /** The session's user and anonymous ids. */
  ids: ReadonlySet<string>;
  /** The ref names this session (by id or first message id). */
  names(ref: SessionRef): boolean;
  /** Some event of the session matches the filter. */
  anyEvent(filter: EventFilter): boolean;
}

export interface CorrectionKind<C extends { kind: string } = { kind: string }> {
  kind: C['kind'];
  /** Absent for kinds recorded by other commands (flag, unflag). */
  cli?: CorrectionCli;
  describe(change: C): string;
  /** The identity keys whose users the change touches (re-deriving them applies it); may refuse with a UsageError. */
  affects(change: C, ports: AffectsPorts, existing: readonly Correction[]): Promise<string[]>;
  /** The change bears on this session (explain, inspect). */
  touches(change: C, view: SessionView): boolean;
  /** The change names one of these ids directly (merge/unmerge): it bears on the user even without a session. */
  touchesIds?(change: C, ids: ReadonlySet<string>): boolean;
  /** Adds the change to the derivation plan (identity, sessionization, steward flags). */
  compile?(change: C, plan: CorrectionPlan, correction: Correction): void;
  /** An event-level edit: the event changed, or null to leave it out of analytics. Applied in order. */
  editEvent?(change: C, event: StoredEvent, userId: string): StoredEvent | null;
}

export function defineCorrectionKind<C extends { kind: string }>(kind: CorrectionKind<C>): CorrectionKind<C> {
  return kind;
}

export interface CorrectionRegistry {
  readonly kinds: readonly CorrectionKind[];
  get(kind: string): CorrectionKind | undefined;
  /** The kind of a change; an Error (a bug or a newer journeyctl's record) when none is registered. */
  of(change: { kind: string }): CorrectionKind;
}

export function createCorrectionRegistry(kinds: ReadonlyArray<CorrectionKind<any>>): CorrectionRegistry {
  const byKind = indexKinds(kinds as readonly CorrectionKind[], (k) => k.kind, 'correction kind');
  const list = [...byKind.values()];
  const of = (change: { kind: string }) => {
    const kind = byKind.get(change.kind);
    if (!kind) throw new Error(`no correction kind ${change.kind} is registered`);
    return kind;
  };
  return { kinds: list, get: (k) => byKind.get(k), of };
}
