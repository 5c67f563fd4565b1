import type { QueryFilter } from 'mongoose';
import type { Config } from '../config.js';
import { TrackMateError } from '../errors.js';
import type { DeadLetterDoc, Models } from '../models/index.js';
import { closeQueue, createQueue, QUEUE_NAMES } from '../plugins/queues.js';
import { parseId } from '../route-kit.js';
import type { IngestJob } from './queued-event.js';
import { deadLetterPayload, replayDeadLetters } from './replay-dead-letters.js';

export interface DeadLettersInput {
  sub: string | undefined;
  id?: string;
  since?: string;
  queue?: string;
  limit?: string;
  json: boolean;
}

const usage = (message: string) => new TrackMateError('TM_ERR_USAGE', { message });

function filterOf(input: DeadLettersInput): QueryFilter<DeadLetterDoc> {
  const filter: QueryFilter<DeadLetterDoc> = {};
  if (input.id) filter._id = parseId(input.id, 'dead letter id');
  if (input.since) {
    const since = new Date(input.since);
    if (Number.isNaN(since.getTime()))
      throw usage(`--since must be a date or time such as 2026-12-01T00:00:00Z, got "${input.since}"`);
    filter.failedAt = { $gte: since };
  }
  if (input.queue) {
    if (!Object.values(QUEUE_NAMES).includes(input.queue as never)) {
      throw usage(`--queue must be one of ${Object.values(QUEUE_NAMES).join(', ')}`);
    }
    filter.queue = input.queue;
  }
  return filter;
}

/**
 * `trackmate-collector dead-letters list|replay [--id ID] [--since TIME] [--queue NAME]`. `list` prints the
 * newest first (`--limit`, default 50; `--json` for one JSON object a line). `replay` queues each payload again
 * — events into the ingest queue (duplicates are still ignored by messageId), webhook deliveries and trigger
 * actions into theirs — and marks the dead letter `replayedAt`; without `--id` it skips letters replayed before.
 */
export async function deadLettersCommand(
  config: Config,
  models: Models,
  input: DeadLettersInput,
  write: (line: string) => void,
): Promise<void> {
  const filter = filterOf(input);
  if (input.sub === 'list') {
    const limit = input.limit === undefined ? 50 : Number(input.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
      throw usage('--limit must be an integer from 1 to 10000');
    const docs = await models.DeadLetter.find(filter).sort({ failedAt: -1 }).limit(limit).lean();
    if (!docs.length) return write('no dead letters\n');
    for (const d of docs) {
      const line = {
        id: d._id.toHexString(),
        queue: d.queue,
        failedAt: d.failedAt.toISOString(),
        siteId: d.siteId?.toHexString() ?? null,
        attempts: d.attempts,
        reason: d.reason,
        replayedAt: d.replayedAt?.toISOString() ?? null,
      };
      write(
        input.json
          ? `${JSON.stringify({ ...line, payload: deadLetterPayload(d) })}\n`
          : `${line.id}  ${line.failedAt}  ${line.queue.padEnd(8)}  ${line.replayedAt ? 'replayed ' : ''}${line.reason.slice(0, 120)}\n`,
      );
    }
    return;
  }
  if (input.sub !== 'replay')
    throw usage('try: dead-letters list [--since TIME] | dead-letters replay [--id ID] [--since TIME]');
  if (!input.id) filter.replayedAt = null;
  const docs = await models.DeadLetter.find(filter).sort({ failedAt: 1 }).lean();
  const queues = {
    ingest: createQueue<IngestJob>(config, QUEUE_NAMES.ingest),
    webhooks: createQueue(config, QUEUE_NAMES.webhooks),
    triggers: createQueue(config, QUEUE_NAMES.triggers),
  };
  try {
    const { replayed, events, skipped } = await replayDeadLetters(models, queues, docs);
    write(
      `replayed ${replayed} dead letter(s)${events ? ` (${events} event(s) queued for ingestion)` : ''}` +
        `${skipped ? `; ${skipped} skipped (no payload that can be queued again)` : ''}\n`,
    );
  } finally {
    await Promise.all(Object.values(queues).map((q) => closeQueue(q)));
  }
}
