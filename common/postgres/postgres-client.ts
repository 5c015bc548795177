import { setTimeout as sleep } from 'node:timers/promises';
import pg, { type ClientBase } from 'pg';

/**
 * One connection for one job (administration: roles, databases, a readiness probe), closed after
 * it. Connect and every statement are bounded, like the pool's.
 */
export async function withPostgresClient<T>(
  url: string,
  work: (client: ClientBase) => Promise<T>,
  options: { connectTimeoutMs?: number; statementTimeoutMs?: number } = {},
): Promise<T> {
  const statementTimeoutMs = options.statementTimeoutMs ?? 30_000;
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 3000,
    statement_timeout: statementTimeoutMs,
    query_timeout: statementTimeoutMs + 1000,
  });
  // A server dying under an open connection emits `error` on the client; the pending call rejects anyway.
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Waits until PostgreSQL at `url` answers a query. `stillTrying` may end the wait early (the
 * server process exited). Resolves false when the time is up.
 */
export async function waitForPostgres(
  url: string,
  timeoutMs: number,
  stillTrying: () => boolean = () => true,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && stillTrying()) {
    try {
      await withPostgresClient(url, (client) => client.query('SELECT 1'), {
        connectTimeoutMs: 1000,
        statementTimeoutMs: 2000,
      });
      return true;
    } catch {
      // Not ready yet.
    }
    await sleep(100);
  }
  return false;
}
