import { SluiceError } from '../../common/errors.js';
import type { CompatibilityLevel } from '../../schemas/registry/compatibility-level.js';
import { RegistryError, type RegistryProblem } from '../../schemas/registry/registry-error.js';

/** What the route was doing when the registry refused: named in the answer. */
export interface RegistryProblemContext {
  type: string;
  /** The level the schema was checked at. */
  compatibility?: CompatibilityLevel | undefined;
}

/**
 * The answer of `/v1/event-types` for a registry refusal: a RegistryError (whose codes are
 * Confluent's, for `/registry`) becomes the SluiceError of the catalog, with every problem and
 * the field it concerns. Anything else is returned unchanged.
 */
export function toEventTypeError(error: unknown, context: RegistryProblemContext): unknown {
  if (!(error instanceof RegistryError)) return error;
  const { type } = context;
  switch (error.kind) {
    case 'INCOMPATIBLE_SCHEMA': {
      const errors = problemsOf(error, 'schema');
      const level = context.compatibility;
      return new SluiceError(
        'SLUICE_SCHEMA_INCOMPATIBLE',
        `the schema breaks ${errors[0]!.field} for event type ${type}${level === undefined ? '' : ` (compatibility ${level})`}: ${errors[0]!.message}`,
        {
          cause: error,
          details: { eventType: type, compatibility: level, field: errors[0]!.field, errors },
        },
      );
    }
    case 'INVALID_SCHEMA': {
      const errors = problemsOf(error, 'schema');
      return new SluiceError('SLUICE_SCHEMA_REFUSED', error.message, {
        cause: error,
        details: { eventType: type, field: errors[0]!.field, errors },
      });
    }
    case 'INVALID_SUBJECT':
      return new SluiceError('SLUICE_INVALID_EVENT_TYPE', error.message, {
        cause: error,
        details: { field: 'type', errors: [{ field: 'type', message: error.message }] },
      });
    case 'SUBJECT_NOT_FOUND':
    case 'SUBJECT_SOFT_DELETED':
    case 'VERSION_NOT_FOUND':
      return new SluiceError('SLUICE_NOT_FOUND', `no event type ${type}`, { cause: error });
    case 'OPERATION_TIMEOUT':
      return new SluiceError(
        'SLUICE_KAFKA_UNAVAILABLE',
        'the change was written to Kafka but not read back in time; it may still take effect: read the event type before trying again',
        { cause: error, retryAfterSeconds: 1 },
      );
    case 'STORE_ERROR':
      return new SluiceError('SLUICE_KAFKA_UNAVAILABLE', 'the registry could not store the change in Kafka', {
        cause: error,
        retryAfterSeconds: 1,
      });
    default:
      return error;
  }
}

/** Every problem with its field; lines without one are about `fallbackField`. */
function problemsOf(error: RegistryError, fallbackField: string): RegistryProblem[] {
  if (error.problems.length > 0) return [...error.problems];
  const lines = error.details.length > 0 ? error.details : [error.message];
  return lines.map((message) => ({ field: fallbackField, message }));
}
