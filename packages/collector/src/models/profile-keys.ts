import type { AnyBulkWriteOperation, Model } from 'mongoose';
import { emailKeyOf, type ProfileDoc } from './profile.js';

/**
 * Up to 0.1 profiles were unique by a compound (siteId, email) index, which cannot hold profiles without an
 * e-mail (profiles known by userId only) on MongoDB. While that index is there, gives every profile its
 * `emailKey` (in pages), then drops it: the index marks an unfinished migration, so a migration stopped half way
 * is finished by the next start, and a migrated or new database costs one listIndexes at start, not a scan.
 */
export async function migrateProfileKeys(Profile: Model<ProfileDoc>): Promise<void> {
  // no collection yet: no index, nothing to migrate
  const indexes = (await Profile.listIndexes().catch(() => [])) as Array<{
    name: string;
    unique?: boolean;
    key: object;
  }>;
  const legacy = indexes.find((i) => i.unique && JSON.stringify(i.key) === '{"siteId":1,"email":1}');
  if (!legacy) return;
  for (;;) {
    const page = await Profile.find(
      { emailKey: { $exists: false }, email: { $type: 'string' } },
      { siteId: 1, email: 1 },
    )
      .limit(1_000)
      .lean();
    if (!page.length) break;
    const ops: AnyBulkWriteOperation<ProfileDoc>[] = page.map((p) => ({
      updateOne: {
        filter: { _id: p._id },
        update: { $set: { emailKey: emailKeyOf(p.siteId.toHexString(), p.email!) } },
      },
    }));
    await Profile.bulkWrite(ops, { ordered: false });
  }
  await Profile.collection.dropIndex(legacy.name);
}
