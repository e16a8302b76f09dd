import type { StoredEvent } from '../domain/event.js';
import type { Profile } from '../domain/profile.js';
import { compareEvents } from './sessionize.js';

/** One person's profile from all of their events; later identify traits override earlier ones. */
export function buildProfile(userId: string, events: readonly StoredEvent[], sessionCount: number): Profile | null {
  if (events.length === 0) return null;
  const ordered = [...events].sort(compareEvents);
  const anonymousIds = new Set<string>();
  let traits: Record<string, unknown> = {};
  let identified = false;
  for (const event of ordered) {
    if (event.anonymousId !== null) anonymousIds.add(event.anonymousId);
    if (event.userId !== null) identified = true;
    if (event.type === 'identify' && event.traitsJson !== '{}') traits = { ...traits, ...(JSON.parse(event.traitsJson) as Record<string, unknown>) };
  }
  return {
    userId,
    identified,
    anonymousIds: [...anonymousIds].sort(),
    traits,
    firstSeen: ordered[0]!.eventTime,
    lastSeen: ordered[ordered.length - 1]!.eventTime,
    eventCount: ordered.length,
    sessionCount,
  };
}
