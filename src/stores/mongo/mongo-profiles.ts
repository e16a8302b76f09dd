import type { Profile } from '../../domain/profile.js';
import type { ProfileStore } from '../ports/profiles.js';
import { chunks, guard, IN_CHUNK, type MongoContext, saveChanged, stream } from './mongo-context.js';

export function createMongoProfiles(ctx: MongoContext): ProfileStore {
  const { c } = ctx;
  return {
    async saveProfiles(profiles, removedUserIds) {
      await guard(ctx, 'save profiles', async () => {
        const wanted = new Map<string, string>();
        for (const profile of profiles) wanted.set(profile.userId, JSON.stringify(profile));
        await saveChanged(ctx, c.profiles, wanted, 'doc');
        for (const chunk of chunks(removedUserIds, IN_CHUNK)) await c.profiles.deleteMany({ _id: { $in: chunk } });
      });
    },
    async *streamProfiles() {
      yield* stream(ctx, 'read profiles', c.profiles.find({}).sort({ _id: 1 }), (doc) => JSON.parse(doc.doc as string) as Profile);
    },
    async profileOf(userId) {
      return guard(ctx, 'read a profile', async () => {
        const doc = await c.profiles.findOne({ _id: { $eq: userId } });
        return doc ? (JSON.parse(doc.doc as string) as Profile) : null;
      });
    },
  };
}
