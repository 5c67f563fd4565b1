/**
 * Every error the collector raises: a stable code, its HTTP status and the message users see. HTTP answers,
 * CLI failures and job failures all come from this table, the way fastify keeps its own in `lib/errors.js`.
 */
export const ERRORS = {
  TM_ERR_INVALID_JSON: { status: 400, message: 'The body is not valid JSON' },
  TM_ERR_INVALID_PAYLOAD: { status: 400, message: 'No event in the request is valid' },
  TM_ERR_BAD_REQUEST: { status: 400, message: 'The request is malformed' },
  TM_ERR_INVALID_ID: { status: 400, message: 'Ids are 24 hexadecimal characters' },
  TM_ERR_USAGE: { status: 400, message: 'Unknown command or option; see trackmate-collector --help' },
  TM_ERR_INVALID_SITE: { status: 400, message: 'The site settings are not valid' },
  TM_ERR_CONFIRM: { status: 400, message: 'This cannot be undone: repeat the id of what is to be deleted to confirm' },
  TM_ERR_MISSING_KEY: {
    status: 401,
    message: 'A write key is required (body writeKey, ?writeKey= or the X-TrackMate-Key header)',
  },
  TM_ERR_UNKNOWN_KEY: { status: 401, message: 'Unknown key' },
  TM_ERR_MISSING_SECRET: { status: 401, message: 'A secret key is required: Authorization: Bearer sk_…' },
  TM_ERR_BAD_SIGNATURE: {
    status: 401,
    message: 'The webhook signature does not verify with the secret set for the site',
  },
  TM_ERR_KEY_SCOPE: {
    status: 403,
    message: 'This is an ingest-only key: it sends server events; reading or changing data takes the secret key',
  },
  TM_ERR_METRICS_FORBIDDEN: {
    status: 403,
    message:
      '/metrics answers this machine only: set TRACKMATE_METRICS_TOKEN (then send it as a Bearer token) or TRACKMATE_METRICS_LISTEN',
  },
  TM_ERR_ORIGIN_NOT_ALLOWED: { status: 403, message: 'This origin is not allowed for the site' },
  TM_ERR_INVALID_LINK: { status: 403, message: 'This link is not valid (it may have been altered)' },
  TM_ERR_NOT_FOUND: { status: 404, message: 'Not found' },
  TM_ERR_PROFILE_NOT_FOUND: { status: 404, message: 'No profile with this id in this site' },
  TM_ERR_SDK_NOT_BUILT: { status: 404, message: 'The browser SDK is not built: run npm run build' },
  TM_ERR_CONFLICT: { status: 409, message: 'This cannot be done in the present state' },
  TM_ERR_REQUEST_TIMEOUT: { status: 408, message: 'The request took too long to arrive' },
  TM_ERR_PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is larger than 512 KB' },
  TM_ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: 'Send application/json or text/plain holding JSON',
  },
  TM_ERR_RATE_LIMITED: { status: 429, message: 'Too many requests; retry after the given seconds' },
  TM_ERR_INTERNAL: { status: 500, message: 'Internal error' },
  TM_ERR_CONFIG: { status: 500, message: 'The configuration is not valid' },
  TM_ERR_SMTP_NOT_CONFIGURED: { status: 500, message: 'SMTP_URL is not set: e-mail actions cannot be sent' },
  TM_ERR_DATABASE: { status: 500, message: 'MongoDB did not do what was asked' },
  TM_ERR_WEBHOOK_FAILED: { status: 502, message: 'The webhook receiver did not accept the delivery' },
  TM_ERR_QUEUE_UNAVAILABLE: { status: 503, message: 'The queue cannot take events now; retry later' },
  TM_ERR_BACKLOG: { status: 503, message: 'The pipeline is behind; retry later' },
  TM_ERR_NOT_READY: { status: 503, message: 'A backing service does not answer' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

export interface ErrorOptions {
  message?: string;
  /** Seconds for a Retry-After header (429, 503). */
  retryAfter?: number;
  /** Extra fields for the reply body (e.g. the per-event `rejected` list). */
  details?: Record<string, unknown>;
  /** Another HTTP status than the table's (a 4xx that fastify raised, kept as it was). */
  statusCode?: number;
  cause?: unknown;
}

export class TrackMateError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly retryAfter?: number;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, options: ErrorOptions = {}) {
    super(options.message ?? ERRORS[code].message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TrackMateError';
    this.code = code;
    this.statusCode = options.statusCode ?? ERRORS[code].status;
    this.retryAfter = options.retryAfter;
    this.details = options.details;
  }

  toReply(): Record<string, unknown> {
    return {
      statusCode: this.statusCode,
      code: this.code,
      error: STATUS_TEXT[this.statusCode] ?? 'Error',
      message: this.message,
      ...this.details,
    };
  }
}

/** True for errors a person fixes by changing their input or setup (printed as one line by the CLI). */
export const isUserError = (err: unknown): err is TrackMateError =>
  err instanceof TrackMateError && (err.code === 'TM_ERR_CONFIG' || err.statusCode < 500);

const EMAIL = /[^\s@<>"'(),;:]+@[^\s@<>"'(),;:]+\.[A-Za-z]{2,}/g;

/**
 * An error text fit for logs: e-mail addresses (SMTP answers and duplicate-key errors carry them) are masked,
 * and it is cut to 500 characters. No personal data in logs.
 */
export const loggable = (err: unknown): string =>
  String((err as Error | null)?.message ?? err)
    .replace(EMAIL, '<e-mail>')
    .slice(0, 500);
