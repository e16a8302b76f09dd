import type { Profile } from '../../domain/profile.js';
import type { ProfileStore } from '../ports/profiles.js';
import type { SqliteContext } from './sqlite-context.js';

export function createSqliteProfiles({ db, guard }: SqliteContext): ProfileStore {
  const saveProfile = db.prepare('INSERT INTO profiles (user_id, doc) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET doc = excluded.doc');
  const deleteProfile = db.prepare('DELETE FROM profiles WHERE user_id = ?');
  return {
    async saveProfiles(profiles, removedUserIds) {
      guard('save profiles', () =>
        db
          .transaction(() => {
            for (const profile of profiles) saveProfile.run(profile.userId, JSON.stringify(profile));
            for (const userId of removedUserIds) deleteProfile.run(userId);
          })
          .immediate(),
      );
    },
    async *streamProfiles() {
      for (const row of db.prepare('SELECT doc FROM profiles ORDER BY user_id').iterate() as Iterable<{ doc: string }>) {
        yield JSON.parse(row.doc) as Profile;
      }
    },
    async profileOf(userId) {
      const row = guard('read a profile', () => db.prepare('SELECT doc FROM profiles WHERE user_id = ?').get(userId) as { doc: string } | undefined);
      return row ? (JSON.parse(row.doc) as Profile) : null;
    },
  };
}
