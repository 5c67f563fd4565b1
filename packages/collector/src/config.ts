import { isIP } from 'node:net';
import { TrackMateError } from './errors.js';

/** Configuration from the environment (docs/configuration.md); flags override. Bad values stop the process. */
export interface Config {
  mongodbUri: string;
  redisUrl: string;
  queuePrefix: string;
  port: number;
  host: string;
  /** Proxies trusted for X-Forwarded-For: none, a hop count, or their addresses / CIDR ranges. */
  trustProxy: false | number | string[];
  ipMode: 'full' | 'anonymize' | 'none';
  smtpUrl?: string;
  logLevel: string;
  /** Requests per minute per write key (0 = off). */
  rateLimitPerKey: number;
  /** Requests per minute per client IP (0 = off). */
  rateLimitPerIp: number;
  /** Requests with an unknown key per minute per client IP before it gets 429 (0 = off). */
  rateLimitAuthFailures: number;
  /** Batches of ingest jobs one worker process stores at once. */
  workerConcurrency: number;
  /** Ingest jobs stored together at most, as one batch, while the worker is behind (1 = each on its own). */
  workerBatchJobs: number;
  /** New visitor ids browsers may link to one profile per UTC day; past it, identify links no more visitors. */
  linksPerProfileDay: number;
  /** Events waiting in the ingest queue above which the track endpoints answer 503 (0 = no limit). */
  maxBacklogEvents: number;
  /** How long an accepted request waits for others to share its ingest job (group commit; 0 = next tick). */
  ingestGroupMs: number;
  /** Events waiting in the ingest queue from which the collector lingers (ingestGroupMs); 0 = always. */
  ingestGroupBacklog: number;
  /** Share (0–1) of Redis maxmemory in use above which the track endpoints answer 503. */
  maxRedisMemory: number;
  /** BullMQ lock duration: how long before a killed worker's job is picked up again. */
  workerLockMs: number;
  /**
   * How far (percent) V8 lets the old generation of `start`'s process grow past what survived its last full
   * collection before the next one; 0 = V8's own (up to 4 times). Bounds the API's memory under batches.
   */
  heapGrowthPercent: number;
  jobAttempts: number;
  /** First retry delay of a failed job; later ones double. */
  jobBackoffMs: number;
  /** Public base URL of this collector, for links in e-mails. */
  publicUrl: string;
  /** HMAC key of unsubscribe links; unset = generated once and kept in the `settings` collection. */
  signingSecret?: string;
  /** Days events, deliveries and dead letters are kept (0 = for ever). */
  retentionDays: number;
  /** Most time a client may take to send a whole request (headers and body); 408 past it. */
  requestTimeoutMs: number;
  /** Outgoing webhook request timeout. */
  webhookTimeoutMs: number;
  /** Let webhooks reach loopback, link-local and private addresses (off: refused at connect time). */
  webhookAllowPrivate: boolean;
  /** From header of campaign e-mails; default `TrackMate <no-reply@host of publicUrl>`. */
  mailFrom?: string;
  /** Double opt-in: least time between two confirmation e-mails to one address for one site. */
  confirmCooldownMs: number;
  /** Double opt-in: most confirmation e-mails to one address a day, over every site of the installation. */
  confirmDailyCap: number;
  /** Shared with the console: signs the visitor's address it forwards (auth-failure limits count per visitor). */
  consoleSecret?: string;
  /** Bearer token /metrics asks for on the API address; unset = /metrics answers loopback clients only. */
  metricsToken?: string;
  /** A separate address serving /metrics (then the API address has none), e.g. `0.0.0.0:9464`. */
  metricsListen?: { host: string; port: number };
  /** Country (and region) of each request's address, from an offline database (TRACKMATE_GEO=on|off). */
  geo: boolean;
  /** A MaxMind DB file to use instead of the bundled country database (e.g. one with regions). */
  geoDatabase?: string;
}

/** Bad configuration: TM_ERR_CONFIG with one line naming the variable. */
export class ConfigError extends TrackMateError {
  constructor(message: string) {
    super('TM_ERR_CONFIG', { message });
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return n;
}

/** A `redis+cluster://` or `rediss+cluster://` URL: a Redis Cluster, reached through the node it names. */
export const isClusterUrl = (redisUrl: string) => /^rediss?\+cluster:/i.test(redisUrl);

function url(env: NodeJS.ProcessEnv, name: string, fallback: string, protocols: string[]): string {
  const raw = env[name] || fallback;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a URL: "${redact(raw)}"`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(
      `${name} must start with ${protocols.map((p) => `${p}//`).join(' or ')}, got "${redact(raw)}"`,
    );
  }
  return raw;
}

/** Hides a password in a URL before it is printed. */
export function redact(raw: string): string {
  return raw.replace(/\/\/([^:/@]+):([^@]+)@/, '//$1:***@');
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, flags: Partial<Config> = {}): Config {
  const trustProxy = trustedProxies(env.TRACKMATE_TRUST_PROXY);
  const ipMode = env.TRACKMATE_IP_MODE || 'full';
  if (ipMode !== 'full' && ipMode !== 'anonymize' && ipMode !== 'none') {
    throw new ConfigError(`TRACKMATE_IP_MODE must be full, anonymize or none, got "${ipMode}"`);
  }
  const logLevel = env.LOG_LEVEL || 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  const queuePrefix = env.TRACKMATE_QUEUE_PREFIX || 'trackmate';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(queuePrefix)) {
    throw new ConfigError(`TRACKMATE_QUEUE_PREFIX must be 1-64 letters, digits, _ or -, got "${queuePrefix}"`);
  }
  const redisUrl = url(env, 'REDIS_URL', 'redis://127.0.0.1:6379', [
    'redis:',
    'rediss:',
    'redis+cluster:',
    'rediss+cluster:',
  ]);
  const smtpUrl = env.SMTP_URL ? url(env, 'SMTP_URL', '', ['smtp:', 'smtps:']) : undefined;
  const port = int(env, 'PORT', 8080, 0, 65535);
  const host = env.HOST || '127.0.0.1';
  const config: Config = {
    mongodbUri: url(env, 'MONGODB_URI', 'mongodb://127.0.0.1:27017/trackmate', ['mongodb:', 'mongodb+srv:']),
    redisUrl,
    // on a Redis Cluster every key carries the prefix as its hash tag, so all keys of the installation share one
    // slot: BullMQ's scripts and the multi-key commands need their keys on one node
    queuePrefix: isClusterUrl(redisUrl) ? `{${queuePrefix}}` : queuePrefix,
    port,
    host,
    trustProxy,
    ipMode,
    smtpUrl,
    logLevel,
    rateLimitPerKey: int(env, 'TRACKMATE_RATE_LIMIT_KEY', 120_000, 0, 1e9),
    rateLimitPerIp: int(env, 'TRACKMATE_RATE_LIMIT_IP', 1_200, 0, 1e9),
    rateLimitAuthFailures: int(env, 'TRACKMATE_RATE_LIMIT_AUTH_FAILURES', 60, 0, 1e9),
    workerConcurrency: int(env, 'TRACKMATE_WORKER_CONCURRENCY', 4, 1, 256),
    workerBatchJobs: int(env, 'TRACKMATE_WORKER_BATCH_JOBS', 32, 1, 1_000),
    linksPerProfileDay: int(env, 'TRACKMATE_LINKS_PER_PROFILE_DAY', 50, 1, 1e6),
    maxBacklogEvents: int(env, 'TRACKMATE_MAX_BACKLOG', 500_000, 0, 1e9),
    ingestGroupMs: int(env, 'TRACKMATE_INGEST_GROUP_MS', 0, 0, 1_000),
    ingestGroupBacklog: int(env, 'TRACKMATE_INGEST_GROUP_BACKLOG', 1_000, 0, 1e9),
    maxRedisMemory: int(env, 'TRACKMATE_MAX_REDIS_MEMORY', 80, 1, 100) / 100,
    workerLockMs: int(env, 'TRACKMATE_WORKER_LOCK_MS', 30_000, 1_000, 600_000),
    heapGrowthPercent: int(env, 'TRACKMATE_HEAP_GROWTH_PERCENT', 30, 0, 300),
    jobAttempts: int(env, 'TRACKMATE_JOB_ATTEMPTS', 12, 1, 100),
    jobBackoffMs: int(env, 'TRACKMATE_JOB_BACKOFF_MS', 1_000, 10, 600_000),
    publicUrl: env.TRACKMATE_PUBLIC_URL || '',
    signingSecret: signingSecret(env),
    webhookTimeoutMs: int(env, 'TRACKMATE_WEBHOOK_TIMEOUT_MS', 10_000, 100, 120_000),
    requestTimeoutMs: int(env, 'TRACKMATE_REQUEST_TIMEOUT_MS', 30_000, 1_000, 600_000),
    retentionDays: int(env, 'TRACKMATE_RETENTION_DAYS', 0, 0, 36_500),
    webhookAllowPrivate: bool(env, 'TRACKMATE_WEBHOOK_ALLOW_PRIVATE'),
    mailFrom: env.TRACKMATE_MAIL_FROM || undefined,
    confirmCooldownMs: int(env, 'TRACKMATE_CONFIRM_COOLDOWN_MINUTES', 15, 0, 10_080) * 60_000,
    confirmDailyCap: int(env, 'TRACKMATE_CONFIRM_DAILY_CAP', 3, 1, 1_000),
    consoleSecret: consoleSecret(env),
    metricsToken: metricsToken(env),
    metricsListen: listenAddress(env, 'TRACKMATE_METRICS_LISTEN'),
    geo: onOff(env, 'TRACKMATE_GEO', true),
    geoDatabase: env.TRACKMATE_GEO_DB || undefined,
    ...stripUndefined(flags),
  };
  if (!config.publicUrl)
    config.publicUrl = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${config.port}`;
  return config;
}

/**
 * TRACKMATE_TRUST_PROXY: `false` (default), a number of proxy hops in front of the collector (the client IP is
 * then that many addresses from the right of X-Forwarded-For), or a comma-separated list of proxy addresses and
 * CIDR ranges. `true` means one hop: trusting every hop would let any client choose its own IP.
 */
function trustedProxies(raw: string | undefined): false | number | string[] {
  const value = (raw ?? 'false').trim().toLowerCase();
  if (value === '' || value === 'false' || value === '0') return false;
  if (value === 'true') return 1;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops <= 32) return hops;
  }
  const list = value.split(',').map((s) => s.trim());
  const valid = (entry: string) => {
    const [address, bits, ...rest] = entry.split('/');
    if (rest.length || !address || !isIP(address)) return false;
    if (bits === undefined) return true;
    const max = isIP(address) === 4 ? 32 : 128;
    return /^\d+$/.test(bits) && Number(bits) <= max;
  };
  const bad = list.find((entry) => !valid(entry));
  if (bad !== undefined) {
    throw new ConfigError(
      `TRACKMATE_TRUST_PROXY must be false, a hop count or proxy addresses/CIDRs such as 10.0.0.0/8, got "${bad || raw}"`,
    );
  }
  return list;
}

function bool(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = (env[name] ?? 'false').trim().toLowerCase();
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0' || raw === '') return false;
  throw new ConfigError(`${name} must be true or false, got "${env[name]}"`);
}

function onOff(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = (env[name] ?? '').trim().toLowerCase();
  if (raw === '') return fallback;
  if (raw === 'on') return true;
  if (raw === 'off') return false;
  throw new ConfigError(`${name} must be on or off, got "${env[name]}"`);
}

function signingSecret(env: NodeJS.ProcessEnv): string | undefined {
  const raw = env.TRACKMATE_SIGNING_SECRET;
  if (!raw) return undefined;
  if (raw.length < 32) throw new ConfigError('TRACKMATE_SIGNING_SECRET must be at least 32 characters');
  return raw;
}

function consoleSecret(env: NodeJS.ProcessEnv): string | undefined {
  const raw = env.TRACKMATE_CONSOLE_SECRET;
  if (!raw) return undefined;
  if (raw.length < 32) throw new ConfigError('TRACKMATE_CONSOLE_SECRET must be at least 32 characters');
  return raw;
}

function metricsToken(env: NodeJS.ProcessEnv): string | undefined {
  const raw = env.TRACKMATE_METRICS_TOKEN;
  if (!raw) return undefined;
  if (!/^[\x21-\x7e]{16,256}$/.test(raw)) {
    throw new ConfigError('TRACKMATE_METRICS_TOKEN must be 16 to 256 printable characters without spaces');
  }
  return raw;
}

/** `HOST:PORT`, `[IPv6]:PORT` or a bare port (then on 127.0.0.1). */
function listenAddress(env: NodeJS.ProcessEnv, name: string): { host: string; port: number } | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$|^(\d{1,5})$/.exec(raw);
  const port = Number(m?.[3] ?? m?.[4]);
  const host = m?.[1] ?? m?.[2] ?? '127.0.0.1';
  if (!m || port > 65535 || (m[1] && isIP(m[1]) !== 6)) {
    throw new ConfigError(`${name} must be HOST:PORT such as 0.0.0.0:9464, [::]:9464 or a port, got "${raw}"`);
  }
  return { host, port };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
