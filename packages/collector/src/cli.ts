#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { openGeo, progressBar, rebuildRollups } from './analytics/index.js';
import { dropSiteCampaignKeys } from './campaigns/index.js';
import { loadConfig, redact } from './config.js';
import { isUserError } from './errors.js';
import { migrate } from './models/index.js';
import { deadLettersCommand } from './pipeline/index.js';
import { openMongo } from './plugins/mongo.js';
import { closeQueue, createQueue, QUEUE_NAMES } from './plugins/queues.js';
import { redisConnection } from './plugins/redis.js';
import { loadSecretBox } from './plugins/secret-box.js';
import { dropSiteSegmentKeys, rebuildFacts } from './segments/index.js';
import { startServer, startWorker } from './server.js';
import { sitesCommand } from './sites/index.js';

const HELP = `trackmate-collector — TrackMate's ingest API and workers

Usage:
  trackmate-collector start [--port 8080] [--host 127.0.0.1] [--no-worker]
                                  the API, with the ingest worker unless --no-worker
  trackmate-collector worker      workers only (scale out)
  trackmate-collector sites create --name NAME --origin URL [--origin URL] [--json]
                                  create a site: prints siteId, writeKey (pk_…), secretKey and ingestKey (sk_…, shown once)
  trackmate-collector sites list [--json]
  trackmate-collector sites update --id ID [--name NAME] [--add-origin URL] [--remove-origin URL]
                                  [--consent-mode single|double|server]  what a browser's yes to e-mail counts for
                                  [--url-params allow[:promo,…] | full[:customer,…]]  query parameters stored URLs keep
                                  [--shopify-secret S] [--woocommerce-secret S] [--stripe-secret whsec_…]
                                  [--remove-secret shopify|woocommerce|stripe]  the shop platforms' webhook
                                  secrets (docs/integrations.md); stored sealed, never shown
  trackmate-collector sites rotate-key --id ID [--write] [--secret] [--ingest] [--overlap 24h]
                                  new keys (secret ones shown once); the old ones stop working at once,
                                  or after the overlap (at most 30d) while you deploy the new ones
  trackmate-collector sites revoke --id ID
                                  replace every key with ones nobody is told (the data stays)
  trackmate-collector sites delete --id ID --yes
                                  delete the site and everything it holds (events, profiles, triggers, …)
  trackmate-collector migrate     create collections and indexes (also done at start)
  trackmate-collector dead-letters list [--since TIME] [--queue ingest|triggers|webhooks] [--limit N] [--json]
                                  what could not be processed, newest first, with the reason
  trackmate-collector dead-letters replay [--id ID] [--since TIME] [--queue NAME]
                                  queue those payloads again (events are still stored once)
  trackmate-collector rollups rebuild [--site ID] [--from DAY] [--to DAY]
                                  recompute the events' enrichment and the stats roll-ups from stored events
                                  (idempotent; safe while ingest runs: open visits are left to it)
  trackmate-collector segments facts [--site ID]
                                  compute every profile's facts (first/last seen, first touch, event counts,
                                  orders, revenue) from stored events, then evaluate every segment again
  trackmate-collector --help | --version

Environment: MONGODB_URI, REDIS_URL, TRACKMATE_QUEUE_PREFIX, PORT, HOST, TRACKMATE_TRUST_PROXY,
TRACKMATE_IP_MODE (full|anonymize|none), SMTP_URL, LOG_LEVEL, TRACKMATE_RATE_LIMIT_KEY and
TRACKMATE_RATE_LIMIT_IP (requests per minute, 0 = off), TRACKMATE_RATE_LIMIT_AUTH_FAILURES, TRACKMATE_WORKER_CONCURRENCY,
TRACKMATE_WORKER_BATCH_JOBS, TRACKMATE_MAX_BACKLOG (events), TRACKMATE_MAX_REDIS_MEMORY (percent),
TRACKMATE_WORKER_LOCK_MS, TRACKMATE_JOB_ATTEMPTS, TRACKMATE_JOB_BACKOFF_MS, TRACKMATE_PUBLIC_URL,
TRACKMATE_SIGNING_SECRET, TRACKMATE_WEBHOOK_TIMEOUT_MS, TRACKMATE_WEBHOOK_ALLOW_PRIVATE, TRACKMATE_REQUEST_TIMEOUT_MS, TRACKMATE_RETENTION_DAYS, TRACKMATE_MAIL_FROM, TRACKMATE_GEO (on|off), TRACKMATE_GEO_DB.
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function fail(message: string): never {
  process.stderr.write(`trackmate-collector: ${message}\n`);
  process.exit(1);
}

/** Redis and the three queues, for commands that change what Redis holds (`sites delete`). */
async function openQueues(config: ReturnType<typeof loadConfig>) {
  const redis = redisConnection(config, 'client');
  const queues = {
    ingest: createQueue(config, QUEUE_NAMES.ingest),
    triggers: createQueue(config, QUEUE_NAMES.triggers),
    webhooks: createQueue(config, QUEUE_NAMES.webhooks),
  };
  return {
    deps: { redis, prefix: config.queuePrefix, queues, keyCleaners: [dropSiteCampaignKeys, dropSiteSegmentKeys] },
    async close() {
      await Promise.all(Object.values(queues).map((q) => closeQueue(q)));
      redis.disconnect();
    },
  };
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'no-worker': { type: 'boolean' },
      name: { type: 'string' },
      origin: { type: 'string', multiple: true },
      'add-origin': { type: 'string', multiple: true },
      'remove-origin': { type: 'string', multiple: true },
      write: { type: 'boolean' },
      secret: { type: 'boolean' },
      ingest: { type: 'boolean' },
      overlap: { type: 'string' },
      'consent-mode': { type: 'string' },
      'url-params': { type: 'string' },
      'shopify-secret': { type: 'string' },
      'woocommerce-secret': { type: 'string' },
      'stripe-secret': { type: 'string' },
      'remove-secret': { type: 'string', multiple: true },
      yes: { type: 'boolean' },
      json: { type: 'boolean' },
      id: { type: 'string' },
      since: { type: 'string' },
      queue: { type: 'string' },
      limit: { type: 'string' },
      site: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
  if (values.version) return void process.stdout.write(`${version()}\n`);
  const [command, sub] = positionals;
  if (values.help || !command) return void process.stdout.write(HELP);

  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    fail(`--port must be a number from 0 to 65535, got "${values.port}"`);
  }
  const config = loadConfig(process.env, { port, host: values.host });

  switch (command) {
    case 'start':
      // V8 reads this each time it sets the next full collection's limit: request data promoted while it waits
      // for Redis is then collected before the old generation doubles (docs/production.md, The API's cost)
      if (config.heapGrowthPercent) setFlagsFromString(`--heap-growing-percent=${config.heapGrowthPercent}`);
      await startServer(config, { worker: !values['no-worker'] });
      return;
    case 'worker':
      await startWorker(config);
      return;
    case 'migrate': {
      const db = await openMongo(config);
      await migrate(db.models).finally(db.close);
      process.stdout.write(`migrated ${redact(config.mongodbUri)}\n`);
      return;
    }
    case 'sites': {
      const db = await openMongo(config);
      try {
        await migrate(db.models);
        const input = {
          sub,
          id: values.id,
          name: values.name,
          origins: values.origin ?? [],
          addOrigins: values['add-origin'] ?? [],
          removeOrigins: values['remove-origin'] ?? [],
          write: values.write ?? false,
          secret: values.secret ?? false,
          ingest: values.ingest ?? false,
          overlap: values.overlap,
          consentMode: values['consent-mode'],
          urlParams: values['url-params'],
          secrets: {
            shopify: values['shopify-secret'],
            woocommerce: values['woocommerce-secret'],
            stripe: values['stripe-secret'],
          },
          removeSecrets: values['remove-secret'] ?? [],
          yes: values.yes ?? false,
          json: values.json ?? false,
        };
        process.stdout.write(
          await sitesCommand(
            db.models,
            input,
            async () => openQueues(config),
            () => loadSecretBox(db.models, config),
          ),
        );
      } finally {
        await db.close();
      }
      return;
    }
    case 'dead-letters': {
      const db = await openMongo(config);
      try {
        await migrate(db.models);
        const { id, since, queue, limit } = values;
        await deadLettersCommand(
          config,
          db.models,
          { sub, id, since, queue, limit, json: values.json ?? false },
          (line) => process.stdout.write(line),
        );
      } finally {
        await db.close();
      }
      return;
    }
    case 'rollups': {
      if (sub !== 'rebuild') fail('usage: trackmate-collector rollups rebuild [--site ID] [--from DAY] [--to DAY]');
      const db = await openMongo(config);
      const redis = redisConnection(config, 'worker');
      try {
        await migrate(db.models);
        const started = Date.now();
        const result = await rebuildRollups(db.models, redis, config.queuePrefix, {
          siteId: values.site,
          from: values.from,
          to: values.to,
          geo: config.geo ? openGeo(config.geoDatabase) : null,
          progress: progressBar((s) => process.stderr.write(s), process.stderr.isTTY === true),
        });
        process.stdout.write(
          `rebuilt ${result.visits} visits from ${result.events} events of ${result.sites} site(s) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
        );
      } finally {
        redis.disconnect();
        await db.close();
      }
      return;
    }
    case 'segments': {
      if (sub !== 'facts') fail('usage: trackmate-collector segments facts [--site ID]');
      const db = await openMongo(config);
      const redis = redisConnection(config, 'worker');
      try {
        await migrate(db.models);
        const started = Date.now();
        const result = await rebuildFacts(db.models, redis, config.queuePrefix, {
          siteId: values.site,
          progress: progressBar((s) => process.stderr.write(s), process.stderr.isTTY === true),
        });
        process.stdout.write(
          `facts of ${result.profiles} profiles from ${result.events} events of ${result.sites} site(s), ${result.segments} segment(s) evaluated, in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
        );
      } finally {
        redis.disconnect();
        await db.close();
      }
      return;
    }
    default:
      fail(`unknown command "${command}"; see trackmate-collector --help`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (isUserError(err)) fail(err.message);
  if ((err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') fail((err as Error).message);
  const name = (err as Error)?.name;
  if (name === 'MongooseServerSelectionError' || name === 'MongoServerSelectionError') {
    fail(
      `cannot reach MongoDB at ${redact(process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017/trackmate')}: ${(err as Error).message}`,
    );
  }
  fail((err as Error)?.stack ?? String(err));
});
