import type { Connection } from 'mongoose';
import { deadLetterSchema, type DeadLetterModel } from './dead-letter.js';
import { eventSchema, type EventModel } from './event.js';
import { identitySchema, type IdentityModel } from './identity.js';
import { profileSchema, type ProfileModel } from './profile.js';
import { siteSchema, type SiteModel } from './site.js';

export interface Models {
  Site: SiteModel;
  Profile: ProfileModel;
  Event: EventModel;
  Identity: IdentityModel;
  DeadLetter: DeadLetterModel;
}

/** Binds every model to one connection (one database per installation, or per test). */
export function createModels(conn: Connection): Models {
  return {
    Site: conn.model('Site', siteSchema) as unknown as SiteModel,
    Profile: conn.model('Profile', profileSchema) as unknown as ProfileModel,
    Event: conn.model('Event', eventSchema) as unknown as EventModel,
    Identity: conn.model('Identity', identitySchema) as unknown as IdentityModel,
    DeadLetter: conn.model('DeadLetter', deadLetterSchema) as unknown as DeadLetterModel,
  };
}

/** Creates collections and indexes; idempotent (`trackmate-collector migrate`, also run at start). */
export async function migrate(models: Models): Promise<void> {
  for (const model of Object.values(models) as Array<Models[keyof Models]>) {
    await model.createCollection().catch((err: { codeName?: string; code?: number }) => {
      if (err.codeName !== 'NamespaceExists' && err.code !== 48) throw err;
    });
    await model.createIndexes();
  }
}

export type { DeadLetterDoc } from './dead-letter.js';
export type { EventDoc } from './event.js';
export type { IdentityDoc } from './identity.js';
export { identityKey } from './identity.js';
export type { ConsentEntry, ProfileDoc } from './profile.js';
export type { SiteDoc } from './site.js';
