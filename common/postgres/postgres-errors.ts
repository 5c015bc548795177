/**
 * SQLSTATE codes and socket errors that mean "the server is not there or not answering", as
 * opposed to a statement the server refused. Callers retry both; this one only changes what they
 * log and count (an outage, or a fault in Sluice's SQL or data).
 */
const unavailableSqlStates = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, recovering)
  '53300', // too_many_connections
  '57014', // query_canceled: statement_timeout fired
]);

const unavailableSocketCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** True when `error` says PostgreSQL is down, unreachable, overloaded or too slow. */
export function isPostgresUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as Error & { code?: unknown }).code;
  if (typeof code === 'string') {
    // Class 08: connection exceptions.
    if (code.startsWith('08') || unavailableSqlStates.has(code) || unavailableSocketCodes.has(code))
      return true;
  }
  // pg's own errors carry no code: a closed socket, a client-side query timeout, a pool timeout.
  return /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|not queryable/i.test(
    error.message,
  );
}

/** The SQLSTATE of a server error, when `error` is one. */
export function sqlState(error: unknown): string | undefined {
  const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * What to log of a PostgreSQL error: its code and message. Never the error itself: pg attaches the
 * client (its settings, its buffers) to some errors.
 */
export function describePostgresError(error: unknown): { code: string | undefined; detail: string } {
  if (!(error instanceof Error)) return { code: undefined, detail: String(error) };
  const code = (error as Error & { code?: unknown }).code;
  return { code: typeof code === 'string' ? code : undefined, detail: error.message };
}
