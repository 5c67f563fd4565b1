import { type Static, Type } from 'typebox';

/** A payload that failed after every retry, with the reason: `/api/dead-letters`. */
export const DeadLetter = Type.Object({
  id: Type.String(),
  queue: Type.String({ description: 'ingest, webhooks or triggers' }),
  failedAt: Type.String({ format: 'date-time' }),
  attempts: Type.Integer(),
  reason: Type.String(),
  replayedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  payload: Type.Unknown({ description: 'What was queued: an ingest job, a webhook delivery or a trigger action' }),
});
export type DeadLetter = Static<typeof DeadLetter>;

export const DeadLetterList = Type.Object({ deadLetters: Type.Array(DeadLetter) });
export type DeadLetterList = Static<typeof DeadLetterList>;

/** `POST /api/dead-letters/:id/replay`. */
export const DeadLettersReplayed = Type.Object({
  replayed: Type.Integer(),
  events: Type.Integer({ description: 'Events queued for ingestion again (duplicates are still stored once)' }),
  skipped: Type.Integer(),
});
export type DeadLettersReplayed = Static<typeof DeadLettersReplayed>;
