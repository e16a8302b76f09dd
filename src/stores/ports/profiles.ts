import type { Profile } from '../../domain/profile.js';

/** Per-user profiles, written by derivation. */
export interface ProfileStore {
  saveProfiles(profiles: readonly Profile[], removedUserIds: readonly string[]): Promise<void>;
  streamProfiles(): AsyncIterable<Profile>;
  /** One profile by canonical user id, or null (`journeyctl inspect`). */
  profileOf(userId: string): Promise<Profile | null>;
}
