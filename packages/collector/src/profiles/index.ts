/** Profiles: the profile API, upserts and consent, and everything held about a person (export, erasure). */
export { cleanName, normalizeEmail, normalizePhone } from './profile-fields.js';
export { default as profileRoutes } from './profile-routes.js';
export { type ProfileUpsert, recordConsent, upsertProfile } from './upsert-profile.js';
