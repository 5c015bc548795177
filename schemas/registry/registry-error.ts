/**
 * The errors of the schema registry, with the codes Confluent's Schema Registry answers, so its
 * clients recognise them (`{"error_code": 40401, "message": …}`). The `/v1/event-types` routes map
 * the same errors to problem documents.
 */
export const registryErrorCatalog = {
  SUBJECT_NOT_FOUND: { status: 404, errorCode: 40401 },
  VERSION_NOT_FOUND: { status: 404, errorCode: 40402 },
  SCHEMA_NOT_FOUND: { status: 404, errorCode: 40403 },
  SUBJECT_SOFT_DELETED: { status: 404, errorCode: 40404 },
  SUBJECT_CONFIG_NOT_FOUND: { status: 404, errorCode: 40408 },
  INCOMPATIBLE_SCHEMA: { status: 409, errorCode: 409 },
  INVALID_SCHEMA: { status: 422, errorCode: 42201 },
  INVALID_VERSION: { status: 422, errorCode: 42202 },
  INVALID_COMPATIBILITY_LEVEL: { status: 422, errorCode: 42203 },
  /** E.g. a permanent delete: Sluice never removes a schema, so ids stay resolvable forever. */
  OPERATION_NOT_PERMITTED: { status: 422, errorCode: 42205 },
  INVALID_SUBJECT: { status: 422, errorCode: 42208 },
  STORE_ERROR: { status: 500, errorCode: 50001 },
  OPERATION_TIMEOUT: { status: 500, errorCode: 50002 },
} as const satisfies Record<string, { status: number; errorCode: number }>;

export type RegistryErrorKind = keyof typeof registryErrorCatalog;

/** One problem with the place it concerns, e.g. `{ field: 'data.total', message: '…' }`. */
export interface RegistryProblem {
  field: string;
  message: string;
}

export class RegistryError extends Error {
  readonly kind: RegistryErrorKind;
  /** More lines, e.g. every compatibility problem found. */
  readonly details: readonly string[];
  /** The problems with the field each concerns, when known (`data.total`, `example.sku`). */
  readonly problems: readonly RegistryProblem[];

  constructor(
    kind: RegistryErrorKind,
    message: string,
    options: { cause?: unknown; details?: string[]; problems?: RegistryProblem[] } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'RegistryError';
    this.kind = kind;
    this.details = options.details ?? [];
    this.problems = options.problems ?? [];
  }

  get status(): number {
    return registryErrorCatalog[this.kind].status;
  }

  get errorCode(): number {
    return registryErrorCatalog[this.kind].errorCode;
  }
}
