import { isSluiceError } from '../../common/errors.js';
import { RegistryError } from '../../schemas/registry/registry-error.js';
import type { HttpExchange, ResponseHeaders } from '../http/http-exchange.js';

/** What Confluent's registry answers with, and what its clients ask for first. */
export const registryContentType = 'application/vnd.schemaregistry.v1+json';

/** Confluent's error body: clients read `error_code` (40401, 42201…) and show `message`. */
export interface RegistryErrorBody {
  error_code: number;
  message: string;
}

export interface RegistryErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: RegistryErrorBody;
}

const internalMessage = 'An internal error occurred; it has been logged.';
const storeMessage = 'Error in the backend data store; it has been logged.';

/**
 * Any thrown value as Confluent's registry would answer it. A RegistryError keeps its status and
 * Confluent code; a SluiceError (401, 403, 404 path, 405, 413, 415, 503…) answers its status with
 * the status as `error_code`, as Confluent does for errors of the HTTP layer. 500-class messages
 * never leave the process (they can carry hostnames or broker errors), except the registry's
 * "written but not read back in time", which tells the client what to do.
 */
export function registryErrorResponse(thrown: unknown): RegistryErrorResponse {
  const headers: Record<string, string> = { 'content-type': registryContentType };
  if (thrown instanceof RegistryError) {
    const { status, errorCode } = thrown;
    const message =
      thrown.kind === 'STORE_ERROR'
        ? storeMessage
        : status >= 500 && thrown.kind !== 'OPERATION_TIMEOUT'
          ? internalMessage
          : thrown.message;
    return { status, headers, body: { error_code: errorCode, message } };
  }
  if (isSluiceError(thrown) && thrown.status !== 500) {
    const { status } = thrown;
    if (status === 401) headers['www-authenticate'] = 'Basic realm="sluice", Bearer realm="sluice"';
    if (status === 503)
      headers['retry-after'] = String(Math.max(1, Math.ceil(thrown.retryAfterSeconds ?? 1)));
    return { status, headers, body: { error_code: status, message: thrown.message } };
  }
  return { status: 500, headers, body: { error_code: 500, message: internalMessage } };
}

/** The router's ErrorResponder for paths under /registry. */
export function respondRegistryError(
  exchange: HttpExchange,
  error: unknown,
  options: { headers?: ResponseHeaders } = {},
): boolean {
  const response = registryErrorResponse(error);
  return exchange.respond(
    response.status,
    { ...options.headers, ...response.headers },
    JSON.stringify(response.body),
  );
}
