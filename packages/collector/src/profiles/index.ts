/** Profiles: the profile API, upserts and consent, and everything held about a person (export, erasure). */

export { fillMergeRecords, type MergedTo, mergedInto, mergeRecords, survivorOf } from './merges.js';
export type { EraseQueued, PersonIds } from './person-ids.js';
export { type ProfileDocLock, profileDocLock } from './profile-doc-locks.js';
export { cleanName, normalizeEmail, normalizePhone } from './profile-fields.js';
export {
  copyProfileKeys,
  findProfilesByKey,
  type ProfileKeysCopy,
  profileKeysCopy,
} from './profile-keys-copy.js';
export { default as profileRoutes } from './profile-routes.js';
export { default as profileSearchRoutes } from './profile-search-routes.js';
export type { ProfileTouch, ProfileUpsert } from './profile-touch.js';
export { loadSuppressions, SUPPRESS_DAYS, suppress, suppressionKey } from './suppression.js';
export {
  type ConsentDecision,
  PROFILE_CAPS,
  profileKey,
  recordConsent,
  recordConsents,
  upsertProfiles,
} from './upsert-profile.js';
export type { ProfileMerged } from './user-ids.js';
