import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import mongoose, { type Connection } from 'mongoose';
import type { Config } from '../config.js';
import { createModels, type Models, migrate } from '../models/index.js';

declare module 'fastify' {
  interface FastifyInstance {
    mongo: Connection;
    models: Models;
  }
}

export interface Mongo {
  mongo: Connection;
  models: Models;
  close(): Promise<void>;
}

/** The database of MONGODB_URI with every model bound to it (also used by the CLI's one-off commands). */
export async function openMongo(config: Config): Promise<Mongo> {
  const mongo = mongoose.createConnection(config.mongodbUri, {
    serverSelectionTimeoutMS: 10_000,
    maxPoolSize: 20,
    autoIndex: false,
    autoCreate: false,
  });
  await mongo.asPromise();
  return { mongo, models: createModels(mongo), close: () => mongo.close() };
}

/** MongoDB: connects, creates collections and indexes (idempotent), closes last. */
export default fp(
  async function mongoPlugin(app: FastifyInstance) {
    const { mongo, models, close } = await openMongo(app.config);
    await migrate(models);
    app.decorate('mongo', mongo);
    app.decorate('models', models);
    app.addHook('onClose', close);
  },
  { name: 'trackmate-mongo' },
);
