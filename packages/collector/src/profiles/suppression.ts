import { createHash } from 'node:crypto';
import type { AnyBulkWriteOperation, Types } from 'mongoose';
import type { Models, SuppressionDoc } from '../models/index.js';

/** How long an erased person's ids keep their events out: longer than any SDK retries a queued event. */
export const SUPPRESS_DAYS = 30;

/** `<siteId>:<sha256 of the id>`; e-mails lower-cased. Only the hash is stored. */
export const suppressionKey = (siteId: string, id: string) =>
  `${siteId}:${createHash('sha256')
    .update(id.includes('@') ? id.toLowerCase() : id)
    .digest('hex')}`;

/** Suppresses the given ids (e-mail, visitor ids) of an erased person for SUPPRESS_DAYS. */
export async function suppress(models: Models, siteId: Types.ObjectId, ids: string[], now = Date.now()): Promise<void> {
  if (!ids.length) return;
  const until = new Date(now + SUPPRESS_DAYS * 86_400_000);
  const ops: AnyBulkWriteOperation<SuppressionDoc>[] = [...new Set(ids)].map((id) => ({
    updateOne: {
      filter: { _id: suppressionKey(siteId.toHexString(), id) },
      update: { $set: { siteId, until } },
      upsert: true,
    },
  }));
  await models.Suppression.bulkWrite(ops, { ordered: false });
}

/** The suppressed keys of each site still in force (the workers cache them per site, see SiteConfigCache). */
export const loadSuppressions =
  (models: Models) =>
  async (siteIds: string[]): Promise<Map<string, string[]>> => {
    const out = new Map<string, string[]>();
    const docs = await models.Suppression.find(
      { siteId: { $in: siteIds }, until: { $gt: new Date() } },
      { _id: 1, siteId: 1 },
    ).lean();
    for (const d of docs) {
      const id = d.siteId.toHexString();
      out.set(id, [...(out.get(id) ?? []), d._id]);
    }
    return out;
  };
