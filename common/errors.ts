/**
 * The closed catalog of Sluice error codes. Each row carries the HTTP status it maps to and whether
 * the same request can succeed later (so callers and clients never parse message text).
 */
export const errorCatalog = {
  SLUICE_MALFORMED_REQUEST: { status: 400, retryable: false, title: 'Malformed request' },
  SLUICE_INVALID_QUERY: { status: 400, retryable: false, title: 'Invalid query parameter' },
  SLUICE_UNAUTHENTICATED: { status: 401, retryable: false, title: 'Missing or unknown API key' },
  SLUICE_SIGNATURE_INVALID: {
    status: 401,
    retryable: false,
    title: 'Webhook signature missing, malformed, stale or wrong',
  },
  SLUICE_FORBIDDEN: { status: 403, retryable: false, title: 'Not allowed for this API key' },
  SLUICE_EVENT_TYPE_FORBIDDEN: {
    status: 403,
    retryable: false,
    title: 'Event type not allowed for this API key',
  },
  SLUICE_TENANT_FORBIDDEN: {
    status: 403,
    retryable: false,
    title: "Another tenant's event or subscription: not allowed for this API key",
  },
  SLUICE_SOURCE_DISABLED: { status: 403, retryable: false, title: 'Inbound source disabled' },
  SLUICE_NOT_FOUND: { status: 404, retryable: false, title: 'Not found' },
  SLUICE_METHOD_NOT_ALLOWED: { status: 405, retryable: false, title: 'Method not allowed' },
  SLUICE_IDEMPOTENCY_IN_FLIGHT: { status: 409, retryable: true, title: 'An event with this id is in flight' },
  SLUICE_SCHEMA_INCOMPATIBLE: {
    status: 409,
    retryable: false,
    title: 'Schema incompatible with earlier versions of the event type',
  },
  SLUICE_BODY_TOO_LARGE: { status: 413, retryable: false, title: 'Request body too large' },
  SLUICE_EVENT_TOO_LARGE: { status: 413, retryable: false, title: 'Event too large' },
  SLUICE_BATCH_TOO_LARGE: { status: 413, retryable: false, title: 'Too many events in one batch' },
  SLUICE_UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false, title: 'Unsupported content type' },
  SLUICE_UNKNOWN_EVENT_TYPE: { status: 422, retryable: false, title: 'Unknown event type' },
  SLUICE_EVENT_TYPE_DEPRECATED: {
    status: 422,
    retryable: false,
    title: 'Event type deprecated: new events are refused',
  },
  SLUICE_SCHEMA_INVALID: { status: 422, retryable: false, title: 'Event does not match its schema' },
  SLUICE_INVALID_EVENT_TYPE: { status: 422, retryable: false, title: 'Invalid event type request' },
  SLUICE_SCHEMA_REFUSED: { status: 422, retryable: false, title: 'Schema refused' },
  SLUICE_INVALID_SUBSCRIPTION: { status: 422, retryable: false, title: 'Invalid subscription' },
  SLUICE_INVALID_SOURCE: { status: 422, retryable: false, title: 'Invalid inbound source' },
  SLUICE_URL_FORBIDDEN: { status: 422, retryable: false, title: 'Webhook URL refused by the SSRF policy' },
  SLUICE_INVALID_REPLAY: { status: 422, retryable: false, title: 'Invalid replay request' },
  SLUICE_REPLAY_TOO_LARGE: {
    status: 422,
    retryable: false,
    title: 'The replay window holds more events than one replay may queue',
  },
  SLUICE_RESEND_REFUSED: {
    status: 422,
    retryable: false,
    title: 'The event cannot be resent to this subscription',
  },
  SLUICE_RECOVERY_REFUSED: {
    status: 422,
    retryable: false,
    title: 'Nothing to recover: the subscription is not disabled, or its window is gone',
  },
  SLUICE_RATE_LIMITED: { status: 429, retryable: true, title: 'Rate limit exceeded' },
  SLUICE_INTERNAL: { status: 500, retryable: true, title: 'Internal error' },
  SLUICE_LOG_DISABLED: {
    status: 501,
    retryable: false,
    title: 'The delivery log is not configured (SLUICE_LOG_DATABASE_URL)',
  },
  SLUICE_OVERLOADED: { status: 503, retryable: true, title: 'Overloaded, retry later' },
  SLUICE_KAFKA_UNAVAILABLE: { status: 503, retryable: true, title: 'Kafka unavailable or too slow' },
  SLUICE_SHUTTING_DOWN: { status: 503, retryable: true, title: 'Shutting down' },
  SLUICE_LOG_UNAVAILABLE: { status: 503, retryable: true, title: 'The delivery log database is unavailable' },
  SLUICE_REPLAY_TIMED_OUT: { status: 503, retryable: true, title: 'The replay did not finish in time' },
  SLUICE_CONFIG_INVALID: { status: 500, retryable: false, title: 'Invalid configuration' },
  SLUICE_STACK_FAILED: { status: 500, retryable: false, title: 'Local stack failed' },
} as const satisfies Record<string, { status: number; retryable: boolean; title: string }>;

export type ErrorCode = keyof typeof errorCatalog;

/** The one application error type. Branch on `code`, never on `message`. */
export class SluiceError extends Error {
  readonly code: ErrorCode;
  /** Structured details for the problem document (e.g. `{ field: 'data.amount' }`); never secrets. */
  readonly details: Readonly<Record<string, unknown>>;
  /** Seconds a client should wait before retrying, for 409/429/503 answers. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown>; retryAfterSeconds?: number } = {},
  ) {
    // Refusals (4xx, and 503 for load or an unavailable dependency) are answers, not faults: their
    // stack says nothing, and capturing it was the largest single cost of shedding a request
    // (~15 % of a saturated core). 500s keep theirs.
    const stackTraceLimit = Error.stackTraceLimit;
    if (errorCatalog[code].status !== 500) Error.stackTraceLimit = 0;
    try {
      super(message, { cause: options.cause });
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    this.name = 'SluiceError';
    this.code = code;
    this.details = options.details ?? {};
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  get status(): number {
    return errorCatalog[this.code].status;
  }

  get retryable(): boolean {
    return errorCatalog[this.code].retryable;
  }
}

export function isSluiceError(value: unknown, code?: ErrorCode): value is SluiceError {
  return value instanceof SluiceError && (code === undefined || value.code === code);
}
