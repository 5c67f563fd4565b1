/** Every error the collector answers with: a stable code, its HTTP status and the message users see. */
export const ERRORS = {
  TM_ERR_INVALID_JSON: { status: 400, message: 'The body is not valid JSON' },
  TM_ERR_INVALID_PAYLOAD: { status: 400, message: 'No event in the request is valid' },
  TM_ERR_BAD_REQUEST: { status: 400, message: 'The request is malformed' },
  TM_ERR_MISSING_KEY: {
    status: 401,
    message: 'A write key is required (body writeKey, ?writeKey= or the X-TrackMate-Key header)',
  },
  TM_ERR_UNKNOWN_KEY: { status: 401, message: 'Unknown key' },
  TM_ERR_MISSING_SECRET: { status: 401, message: 'A secret key is required: Authorization: Bearer sk_…' },
  TM_ERR_ORIGIN_NOT_ALLOWED: { status: 403, message: 'This origin is not allowed for the site' },
  TM_ERR_INVALID_LINK: { status: 403, message: 'This link is not valid (it may have been altered)' },
  TM_ERR_NOT_FOUND: { status: 404, message: 'Not found' },
  TM_ERR_PROFILE_NOT_FOUND: { status: 404, message: 'No profile with this id in this site' },
  TM_ERR_PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is larger than 512 KB' },
  TM_ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: 'Send application/json or text/plain holding JSON',
  },
  TM_ERR_RATE_LIMITED: { status: 429, message: 'Too many requests; retry after the given seconds' },
  TM_ERR_QUEUE_UNAVAILABLE: { status: 503, message: 'The queue cannot take events now; retry later' },
  TM_ERR_NOT_READY: { status: 503, message: 'A backing service does not answer' },
  TM_ERR_INTERNAL: { status: 500, message: 'Internal error' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export class TrackMateError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  /** Seconds for a Retry-After header (429, 503). */
  readonly retryAfter?: number;
  /** Extra fields for the reply body (e.g. the per-event `rejected` list). */
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, options: { message?: string; retryAfter?: number; details?: Record<string, unknown> } = {}) {
    super(options.message ?? ERRORS[code].message);
    this.name = 'TrackMateError';
    this.code = code;
    this.statusCode = ERRORS[code].status;
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

export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? 'Error';
}
