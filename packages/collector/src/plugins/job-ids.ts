import { createHash } from 'node:crypto';

/** A BullMQ job id derived from a natural key (ids may not contain ':'), so adding the same work twice is a no-op. */
export const jobIdFor = (prefix: string, naturalKey: string) =>
  `${prefix}-${createHash('sha256').update(naturalKey).digest('hex').slice(0, 40)}`;
