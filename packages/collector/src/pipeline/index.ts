/** Pipeline: the ingest worker that links events to profiles and stores them exactly once; dead letters. */
export { type DeadLetterItem, deadLetter, deadLetters, type UnstorablePayload } from './dead-letters.js';
export { type DeadLettersInput, deadLettersCommand } from './dead-letters-command.js';
export { eraseQueued } from './erase-queued.js';
export { createIngestWorker, type IngestWorkerOptions } from './ingest-worker.js';
export {
  copyLinks,
  fillLinkRecords,
  type LinkMirror,
  linkCopyKeys,
  linkMirror,
  linksKey,
  linksReadyKey,
} from './link-mirror.js';
export { type OwnedPart, ownedParts } from './owned-events.js';
export { default as pipelineRoutes } from './pipeline-routes.js';
export {
  type IngestJob,
  jobEvents,
  type QueuedEvent,
  type QueuedRequest,
  type RequestEvent,
  requestEvent,
  sameRequest,
} from './queued-event.js';
export { deadLetterPayload, type ReplayResult, replayDeadLetters } from './replay-dead-letters.js';
export { type Removed, removeExpired, startRetention } from './retention.js';
export {
  type AfterInsertHook,
  type EnrichHook,
  type HookJob,
  type ProcessResult,
  processEvents,
} from './store-events.js';
export {
  RECORDS_IDLE_DAYS,
  type UnlinkedEvent,
  type UnlinkedEvents,
  unlinkedEvents,
  unlinkedKey,
  unlinkedReadyKey,
} from './unlinked-events.js';
export {
  fillMarkRecords,
  prepareUnlinkedRecords,
  setAsideIdleRecords,
  startUnlinkedKeeper,
} from './unlinked-keeper.js';
