import type { EventType, RejectedLine, RejectReason, StoredEvent, TimeSource } from '../../domain/event.js';
import { type EncodedEvent, storedEventFields } from '../ports/event-log.js';
import type { Doc } from './mongo-tail.js';

/** How the MongoDB raw store lays events and rejected lines out as documents. */
export type EventDoc = {
  _id: string;
  seq: number;
  identityKey: string;
  userId: string | null;
  anonymousId: string | null;
  previousId: string | null;
  type: string;
  event: string;
  eventTime: number;
  timeSource: string;
  skewMs: number;
  receivedAt: number;
  appVersion: string | null;
  propertiesJson: string;
  traitsJson: string;
  raw: string;
  rawHash: string;
  ingestedAt: number;
  /** Ids earlier stored copies of this message were filed under (they are re-derived with it). */
  supersededIds?: string[];
};

export type CopyDoc = Pick<EventDoc, '_id' | 'seq' | 'identityKey' | 'userId' | 'anonymousId' | 'previousId' | 'eventTime' | 'receivedAt' | 'rawHash' | 'supersededIds'>;
export const COPY_PROJECTION = { seq: 1, identityKey: 1, userId: 1, anonymousId: 1, previousId: 1, eventTime: 1, receivedAt: 1, rawHash: 1, supersededIds: 1 };

export function toDoc(event: EncodedEvent, seq: number, ingestedAt: number): EventDoc {
  return {
    _id: event.messageId,
    seq,
    ...storedEventFields(event),
    propertiesJson: event.propertiesJson,
    traitsJson: event.traitsJson,
    raw: event.raw,
    rawHash: event.rawHash,
    ingestedAt,
  };
}

export function toStoredEvent(doc: Doc, copies: number): StoredEvent {
  return { ...toTailedFields(doc), copies };
}

/** A stored event's own fields (tail shows no copy count: that would cost a lookup per record). */
export function toTailedFields(doc: Doc): Omit<StoredEvent, 'copies'> {
  return {
    messageId: doc._id as string,
    type: doc.type as EventType,
    event: doc.event as string,
    identityKey: doc.identityKey as string,
    userId: (doc.userId as string | null) ?? null,
    anonymousId: (doc.anonymousId as string | null) ?? null,
    eventTime: doc.eventTime as number,
    receivedAt: doc.receivedAt as number,
    timeSource: doc.timeSource as TimeSource,
    skewMs: doc.skewMs as number,
    appVersion: (doc.appVersion as string | null) ?? null,
    propertiesJson: doc.propertiesJson as string,
    traitsJson: doc.traitsJson as string,
  };
}

export function toRejected(doc: Doc): RejectedLine {
  return {
    raw: doc.raw as string,
    rawHash: doc._id as string,
    reason: doc.reason as RejectReason,
    detail: doc.detail as string,
    receivedAt: doc.receivedAt as number,
    messageId: (doc.messageId as string | null) ?? null,
    event: (doc.event as string | null) ?? null,
    appVersion: (doc.appVersion as string | null) ?? null,
  };
}
