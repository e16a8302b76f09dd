/** A stitched person: the canonical id, every id that resolves to it, and what identify calls said. */
export interface Profile {
  userId: string;
  /** True when a userId (not only anonymous ids) was ever seen for this person. */
  identified: boolean;
  anonymousIds: string[];
  traits: Record<string, unknown>;
  firstSeen: number;
  lastSeen: number;
  eventCount: number;
  sessionCount: number;
}
