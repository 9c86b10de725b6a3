/**
 * Expected failures carry a stable machine-readable code and an HTTP status; the body is
 * `{ error: { code, message, details? } }`. Codes are persisted in clients' code: never rename one.
 * Every code is listed in ERROR_CODES and documented in docs/errors.md; errors.test.ts checks
 * both ways by scanning the sources and the doc (a code raised but not cataloged, cataloged but
 * undocumented or never raised, or documented but not cataloged fails it).
 */
export const ERROR_CODES = {
  VALIDATION_FAILED: 400,
  INVALID_JSON: 400,
  JSON_TOO_DEEP: 400,
  JSON_TOO_MANY_KEYS: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  BODY_TOO_LARGE: 413,
  UNAUTHENTICATED: 401,
  INVALID_CREDENTIALS: 401,
  WEBHOOK_UNVERIFIED: 401,
  CSRF_TOKEN_INVALID: 403,
  ORIGIN_NOT_ALLOWED: 403,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  EMAIL_TAKEN: 409,
  CONTACT_EMAIL_EXISTS: 409,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  LOGIN_THROTTLED: 429,
  LAST_OWNER: 409,
  // Invitations (docs/access.md#invitations)
  INVITATION_INVALID: 404,
  INVITATION_EXPIRED: 410,
  INVITATION_ACCEPTED: 409,
  INVITATION_EMAIL_MISMATCH: 403,
  INVITATION_EXISTS: 409,
  ALREADY_MEMBER: 409,
  WORKSPACE_TIME_ZONE_INVALID: 400,
  // contacts and events
  INVALID_EMAIL: 400,
  INVALID_CURSOR: 400,
  CONTACT_STATUS_REGRESSION: 409,
  CONTACT_ERASED: 409,
  INVALID_WRITE_KEY: 401,
  MESSAGE_TOO_LARGE: 400,
  MESSAGE_INVALID: 400,
  SEGMENT_NOT_STATIC: 409,
  IMPORT_NO_EMAIL_COLUMN: 400,
  IMPORT_CSV_INVALID: 400,
  IMPORT_TOO_LARGE: 413,
  INVALID_CUSTOM_FIELD: 400,
  CUSTOM_FIELD_EXISTS: 409,
  CUSTOM_FIELD_VALUES_MISMATCH: 409,
  // Campaigns (docs/errors.md#campaigns)
  CAMPAIGN_INVALID: 400,
  CAMPAIGN_ARCHIVED: 409,
  CAMPAIGN_NOT_ACTIVE: 409,
  CAMPAIGN_NOT_PAUSED: 409,
  CAMPAIGN_EDIT_CONFLICT: 409,
  ENROLLMENT_REFUSED: 409,
  ENROLLMENT_CONTACTS_NOT_FOUND: 404,
  ENROLLMENT_NOT_FAILED: 409,
  ENROLLMENT_STATE_CONFLICT: 409,
  SPLIT_NOT_FOUND: 404,
  SPLIT_VARIANT_UNKNOWN: 400,
  SPLIT_NO_WINNER: 409,
  BROADCAST_NOT_SCHEDULED: 409,
  TEMPLATE_INVALID: 400,
  PROVIDER_CREDENTIALS_INVALID: 400,
  PROVIDER_HOST_NOT_ALLOWED: 400,
  TEMPLATE_NAME_TAKEN: 409,
  TEMPLATE_RENDER_FAILED: 422,
  MESSAGE_STATE_CONFLICT: 409,
  TOPIC_NAME_TAKEN: 409,
  TOPIC_IN_USE: 409,
  // AI (docs/errors.md#ai)
  AI_MODEL_UNKNOWN: 400,
  AI_CREDENTIALS_MISSING: 400,
  AI_POLICY_FORBIDS: 400,
  AI_BUDGET_EXCEEDED: 409,
  AI_VARIANT_NOT_PENDING: 409,
  // Guardian (docs/errors.md#guardian)
  RULE_SIGNAL_UNKNOWN: 400,
  RULE_THRESHOLD_INVALID: 400,
  RULE_WINDOW_INVALID: 400,
  RULE_MIN_VOLUME_INVALID: 400,
  RULE_COOLDOWN_INVALID: 400,
  RULE_SCOPE_INVALID: 400,
  RULE_CHANNEL_UNKNOWN: 400,
  ALERT_RESOLVED: 409,
  // Guardian notifications (docs/errors.md#guardian)
  GUARDIAN_RECIPIENTS_INVALID: 400,
  GUARDIAN_SLACK_URL_INVALID: 400,
  GUARDIAN_WEBHOOK_URL_REFUSED: 400,
  GUARDIAN_READ_STATE_NEEDS_USER: 400,
  // Analytics (docs/errors.md#analytics)
  ANALYTICS_RANGE_INVALID: 400,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class AppError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'AppError';
    this.statusCode = ERROR_CODES[code];
  }
}

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export function notFound(what: string): AppError {
  return new AppError('NOT_FOUND', `${what} not found`);
}

/** For exhaustive switches over persisted unions: a new member fails the typecheck. */
export function assertUnreachable(value: never): never {
  throw new Error(`unexpected value ${JSON.stringify(value)}`);
}
