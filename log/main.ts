import { isSluiceError } from '../common/errors.js';
import { createLogger, type Logger } from '../common/logger.js';
import { createPostgresPool, redactDatabaseUrl } from '../common/postgres/index.js';
import { onStopSignal } from '../common/stop-signals.js';
import { loadLogConfig, loadLogDatabaseConfig } from './log-config.js';
import { startLogProcess } from './log-process.js';
import { maintainPartitions } from './partitions.js';
import { applyMigrations, loadMigrations } from './schema-migrations.js';

function startFailure(logger: Logger, error: unknown, what: string): number {
  logger.fatal(isSluiceError(error) ? { code: error.code, detail: error.message } : { err: error }, what);
  return 1;
}

/**
 * `sluice log`: the only module of the log process with process-wide side effects.
 * SIGTERM → stop consuming, let a batch being written finish, exit 0. A Kafka consumer that
 * crashed for good → exit 1 (nothing was committed past what is stored, so nothing is lost).
 */
export async function runLog(env: NodeJS.ProcessEnv): Promise<number> {
  const logger = createLogger('sluice-log');
  let config;
  try {
    config = loadLogConfig(env);
  } catch (error) {
    return startFailure(logger, error, 'delivery log failed to start');
  }
  let fatal: (error: Error) => void = () => undefined;
  let log;
  try {
    log = await startLogProcess(config, logger, { onFatal: (error) => fatal(error) });
  } catch (error) {
    return startFailure(logger, error, 'delivery log failed to start');
  }
  const running = log;
  const signals = onStopSignal(logger, () => running.shutdown());
  fatal = (error) => {
    logger.fatal({ err: error }, 'the Kafka consumer stopped for good; exiting so the process is restarted');
    signals.exit(1);
  };
  return signals.exitCode;
}

/**
 * `sluice log migrate`: applies the migrations the database lacks (under an advisory lock, so
 * concurrent runs are safe), then creates today's and the next days' partitions and drops those
 * past retention. Safe to repeat.
 */
export async function runLogMigrate(
  env: NodeJS.ProcessEnv,
  logger: Logger = createLogger('sluice-log'),
): Promise<number> {
  let config;
  try {
    config = loadLogDatabaseConfig(env);
  } catch (error) {
    return startFailure(logger, error, 'log migrate failed');
  }
  const pool = createPostgresPool(config.pool, logger);
  try {
    const migrations = loadMigrations();
    const applied = await applyMigrations(pool, migrations);
    const partitions = await maintainPartitions(pool, Date.now(), config.partitions);
    logger.info(
      {
        database: redactDatabaseUrl(config.pool.url),
        applied,
        schemaVersion: migrations.at(-1)?.version ?? 0,
        partitionsCreated: partitions.created,
        partitionsDropped: partitions.dropped,
      },
      applied.length > 0 ? 'log database migrated' : 'log database already up to date',
    );
    return 0;
  } catch (error) {
    return startFailure(logger, error, 'log migrate failed');
  } finally {
    await pool.end().catch(() => undefined);
  }
}
