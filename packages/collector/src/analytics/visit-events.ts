import type { Redis } from 'ioredis';
import type { EventDoc, Models, NewEventDoc } from '../models/index.js';
import { visitEventsKey } from './visit-state.js';
import { type SummaryEvent, type VisitEventRecord, visitEventRecord } from './visit-summary.js';

/**
 * What each open visit's events add up to is kept beside the visit in Redis, written by the ingest worker once
 * the events are stored: `visitev:<visit id>` → hash, message id → the event's VisitEventRecord (JSON). Closing a
 * visit and counting open visits live read these instead of the events collection (a `visitId $in` would be a
 * scan of every stored event on FerretDB). A message id is written once whatever the number of attempts, and
 * the hash goes with the visit when the closer forgets it (forgetOpenVisits). A visit with no record (opened before this was kept,
 * or its events all dead-lettered) is read from its stored events.
 */
/** Kept this long after the last write should the closer never forget the visit. */
const RECORDS_TTL_S = 7 * 86_400;

/** Records stored events of open visits (the ingest worker's after-insert step; idempotent). */
export async function recordVisitEvents(redis: Redis, prefix: string, events: NewEventDoc[]): Promise<void> {
  const byVisit = new Map<string, string[]>();
  for (const e of events) {
    if (!e.visitId) continue;
    const fields = byVisit.get(e.visitId) ?? [];
    fields.push(e.messageId, JSON.stringify(visitEventRecord(e)));
    byVisit.set(e.visitId, fields);
  }
  if (!byVisit.size) return;
  // one script for the job (a command per visit cost the worker more in building commands than the writes)
  const keys = [...byVisit.keys()].map((id) => visitEventsKey(prefix, id));
  const args = [...byVisit.values()].flatMap((fields) => [fields.length / 2, ...fields]);
  await redis.eval(RECORD, keys.length, ...keys, RECORDS_TTL_S, ...args);
}

/** KEYS: the visits' record hashes. ARGV: TTL, then per key its number of events and their (message id, record). */
const RECORD = `
local a = 2
for i = 1, #KEYS do
  local n = tonumber(ARGV[a])
  for j = 1, n do redis.call('HSET', KEYS[i], ARGV[a + 2 * j - 1], ARGV[a + 2 * j]) end
  redis.call('EXPIRE', KEYS[i], ARGV[1])
  a = a + 1 + 2 * n
end
return 0`;

export const EVENT_FIELDS = { visitId: 1, name: 1, timestamp: 1, properties: 1, context: 1, sentBy: 1, source: 1 };

/** Each visit's event records, by visit id: from Redis, else (no record kept) from its stored events. */
export async function eventsOfVisits(
  models: Models,
  redis: Redis,
  prefix: string,
  ids: string[],
): Promise<Map<string, VisitEventRecord[]>> {
  const out = new Map<string, VisitEventRecord[]>();
  if (!ids.length) return out;
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.hvals(visitEventsKey(prefix, id));
  const results = (await pipeline.exec()) ?? [];
  const unrecorded: string[] = [];
  results.forEach(([err, values], i) => {
    if (err) throw err;
    const list = values as string[];
    if (list.length)
      out.set(
        ids[i]!,
        list.map((v) => JSON.parse(v) as VisitEventRecord),
      );
    else unrecorded.push(ids[i]!);
  });
  if (!unrecorded.length) return out;
  const docs = await models.Event.find({ visitId: { $in: unrecorded } }, EVENT_FIELDS).lean<
    Array<SummaryEvent & Pick<EventDoc, 'visitId'>>
  >();
  for (const d of docs) {
    const list = out.get(d.visitId!) ?? [];
    list.push(visitEventRecord(d));
    out.set(d.visitId!, list);
  }
  return out;
}
