import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SluiceError } from '../../common/errors.js';
import {
  quoteIdentifier,
  sqlState,
  waitForPostgres,
  withPostgresClient,
} from '../../common/postgres/index.js';
import { ensureDebianPackage } from './debian-package.js';
import { isAlive, isPortOpen, tail, waitForPortClosed } from './processes.js';
import type { StackPaths } from './paths.js';

/** The PostgreSQL major version the stack runs, from Debian's package. */
export const postgresMajorVersion = 15;
const binDir = `/usr/lib/postgresql/${postgresMajorVersion}/bin`;

/** The role and database the stack creates for Sluice (trust authentication, 127.0.0.1 only). */
export const stackDatabaseName = 'sluice';

export interface PostgresServerOptions {
  /** This server's folder: `data/` (the cluster), `run/` (its socket), `postgres.log`. */
  home: string;
  port: number;
  readyTimeoutMs: number;
  log: (line: string) => void;
}

export function postgresHome(paths: StackPaths): string {
  return join(paths.stateDir, 'postgres');
}

function postgresDirs(home: string) {
  return {
    home,
    dataDir: join(home, 'data'),
    socketDir: join(home, 'run'),
    logFile: join(home, 'postgres.log'),
    settingsFile: join(home, 'data', 'sluice-stack.conf'),
  };
}

/** The URL of the stack's Sluice database on `port`. */
export function stackDatabaseUrl(port: number): string {
  return `postgres://${stackDatabaseName}@127.0.0.1:${port}/${stackDatabaseName}`;
}

function superuserUrl(port: number): string {
  return `postgres://postgres@127.0.0.1:${port}/postgres`;
}

/** Debian's PostgreSQL refuses to run as root: as root, every server command runs as `postgres`. */
function runAsPostgres(command: string, args: string[], timeoutMs: number): string {
  const [file, fullArgs] =
    process.getuid?.() === 0
      ? ['runuser', ['-u', 'postgres', '--', join(binDir, command), ...args]]
      : [join(binDir, command), args];
  return execFileSync(file, fullArgs, {
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    timeout: timeoutMs,
  });
}

function commandOutput(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { stdout, stderr } = error as Error & { stdout?: unknown; stderr?: unknown };
  return `${String(stdout ?? '')}${String(stderr ?? '')}`.trim() || error.message;
}

export function installPostgres(log: (line: string) => void): void {
  ensureDebianPackage(
    `postgresql-${postgresMajorVersion}`,
    () => existsSync(join(binDir, 'postgres')),
    'install PostgreSQL 15, or set SLUICE_LOG_DATABASE_URL to an existing server',
    log,
  );
}

/** The postmaster's pid when this server runs: its lock file names it, and its command line names the data folder. */
export function postgresPid(home: string): number | undefined {
  const { dataDir } = postgresDirs(home);
  const lockFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(lockFile)) return undefined;
  const pid = Number(readFileSync(lockFile, 'utf8').split('\n', 1)[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  try {
    // A killed postmaster stays a zombie until its parent (init) reaps it: not running.
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
    if (state === 'Z' || state === 'X') return undefined;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dataDir) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * As root the server runs as `postgres`, which must reach its folder through every parent: each
 * parent without search permission for others gets it (only search, never listing).
 */
function prepareFolders(home: string, log: (line: string) => void): void {
  const dirs = postgresDirs(home);
  mkdirSync(dirs.socketDir, { recursive: true });
  if (process.getuid?.() !== 0) return;
  for (let dir = dirname(home); ; dir = dirname(dir)) {
    const mode = statSync(dir).mode;
    if ((mode & 0o001) === 0) {
      chmodSync(dir, (mode & 0o7777) | 0o001);
      log(`made ${dir} traversable for the postgres user (o+x)`);
    }
    if (dirname(dir) === dir) break;
  }
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  chownSync(home, uid, gid);
  chownSync(dirs.socketDir, uid, gid);
  chmodSync(dirs.socketDir, 0o700);
}

/** initdb once, into a side folder renamed when complete, so an interrupted run never looks initialised. */
function initdbOnce(options: PostgresServerOptions): void {
  const dirs = postgresDirs(options.home);
  if (existsSync(join(dirs.dataDir, 'PG_VERSION'))) return;
  const partial = `${dirs.dataDir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  rmSync(dirs.dataDir, { recursive: true, force: true });
  try {
    runAsPostgres(
      'initdb',
      [
        '-D',
        partial,
        '--username=postgres',
        '--auth=trust',
        '--encoding=UTF8',
        '--locale=C',
        '--no-instructions',
      ],
      120_000,
    );
  } catch (error) {
    throw new SluiceError('SLUICE_STACK_FAILED', `initdb failed:\n${commandOutput(error)}`, { cause: error });
  }
  writeFileSync(join(partial, 'postgresql.conf'), "\ninclude 'sluice-stack.conf'\n", { flag: 'a' });
  renameSync(partial, dirs.dataDir);
  options.log(`initialised a PostgreSQL ${postgresMajorVersion} cluster in ${dirs.dataDir}`);
}

/** The settings that may change between runs (the port), rewritten at every start. */
function writeSettings(options: PostgresServerOptions): void {
  const dirs = postgresDirs(options.home);
  const quoted = (text: string) => `'${text.replaceAll("'", "''")}'`;
  writeFileSync(
    dirs.settingsFile,
    [
      '# Written by `sluice stack up`: a private server for development and tests.',
      `port = ${options.port}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = ${quoted(dirs.socketDir)}`,
      // Committed data survives a crash of PostgreSQL (WAL is written at every commit), not of the
      // machine: enough for a development stack, and much faster on a shared disk.
      'fsync = off',
      'full_page_writes = off',
      // Tests open pools of their own, several files at a time.
      'max_connections = 200',
      '',
    ].join('\n'),
  );
}

/** Creates the Sluice role and database unless they exist. */
async function ensureStackDatabase(port: number): Promise<void> {
  const role = quoteIdentifier(stackDatabaseName);
  await withPostgresClient(superuserUrl(port), async (client) => {
    const roles = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [stackDatabaseName]);
    // CREATEDB: the integration tests make a database per test file.
    if (roles.rowCount === 0) await ignoreDuplicate(client.query(`CREATE ROLE ${role} LOGIN CREATEDB`));
    const databases = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [stackDatabaseName]);
    if (databases.rowCount === 0)
      await ignoreDuplicate(client.query(`CREATE DATABASE ${role} OWNER ${role}`));
  });
}

async function ignoreDuplicate(query: Promise<unknown>): Promise<void> {
  try {
    await query;
  } catch (error) {
    // Another `stack up` created it meanwhile.
    if (!['42710', '42P04'].includes(sqlState(error) ?? '')) throw error;
  }
}

async function waitUntilReady(options: PostgresServerOptions, pid: number | undefined): Promise<void> {
  const ready = await waitForPostgres(
    superuserUrl(options.port),
    options.readyTimeoutMs,
    () => pid === undefined || isAlive(pid),
  );
  if (!ready) {
    throw new SluiceError(
      'SLUICE_STACK_FAILED',
      `PostgreSQL on 127.0.0.1:${options.port} did not answer within ${options.readyTimeoutMs} ms; last log lines:\n${tail(postgresDirs(options.home).logFile)}`,
    );
  }
}

/**
 * Starts the server unless it runs already, then makes sure the Sluice role and database exist.
 * Idempotent; a re-run with the server up costs one query.
 */
export async function startPostgres(
  options: PostgresServerOptions,
): Promise<{ pid: number; alreadyRunning: boolean; url: string }> {
  const url = stackDatabaseUrl(options.port);
  const running = postgresPid(options.home);
  if (running !== undefined) {
    await waitUntilReady(options, running);
    await ensureStackDatabase(options.port);
    return { pid: running, alreadyRunning: true, url };
  }
  if (await isPortOpen(options.port)) {
    throw new SluiceError(
      'SLUICE_STACK_FAILED',
      `port ${options.port} is already in use by another process; stop it, or set SLUICE_LOG_DATABASE_URL to use that server, or SLUICE_STACK_POSTGRES_PORT to move the local one`,
    );
  }
  installPostgres(options.log);
  prepareFolders(options.home, options.log);
  initdbOnce(options);
  writeSettings(options);
  const pid = await pgCtlStart(options);
  options.log(`started PostgreSQL ${postgresMajorVersion} (pid ${pid}) on 127.0.0.1:${options.port}`);
  await waitUntilReady(options, pid);
  await ensureStackDatabase(options.port);
  return { pid, alreadyRunning: false, url };
}

/**
 * `pg_ctl start -w`: the postmaster runs in a session of its own, so it outlives this process.
 * Right after a crash the old server's backends may still hold its shared memory for a moment
 * (they exit when they notice the postmaster is gone), and the new one refuses to start until
 * they have: that refusal is retried until the ready timeout.
 */
async function pgCtlStart(options: PostgresServerOptions): Promise<number> {
  const dirs = postgresDirs(options.home);
  const deadline = Date.now() + options.readyTimeoutMs;
  for (;;) {
    try {
      runAsPostgres(
        'pg_ctl',
        [
          'start',
          '-D',
          dirs.dataDir,
          '-l',
          dirs.logFile,
          '-w',
          '-t',
          String(Math.ceil(options.readyTimeoutMs / 1000)),
        ],
        options.readyTimeoutMs + 10_000,
      );
      const pid = postgresPid(options.home);
      if (pid !== undefined) return pid;
    } catch (error) {
      const log = tail(dirs.logFile, 5);
      if (!/still in use|already exists/.test(log) || Date.now() > deadline) {
        throw new SluiceError(
          'SLUICE_STACK_FAILED',
          `PostgreSQL did not start:\n${commandOutput(error)}\nlast log lines:\n${tail(dirs.logFile)}`,
          { cause: error },
        );
      }
    }
    await sleep(250);
  }
}

/** Stops the server this helper started (fast shutdown: open sessions are ended), SIGKILL if it hangs. */
export async function stopPostgres(options: PostgresServerOptions): Promise<boolean> {
  const pid = postgresPid(options.home);
  if (pid === undefined) return false;
  try {
    runAsPostgres(
      'pg_ctl',
      ['stop', '-D', postgresDirs(options.home).dataDir, '-m', 'fast', '-w', '-t', '30'],
      40_000,
    );
  } catch {
    await killPostgres(options.home);
  }
  await waitForPortClosed(options.port, 10_000);
  options.log(`stopped PostgreSQL (pid ${pid})`);
  return true;
}

/**
 * SIGKILL to the postmaster and every process of its group (its backends and workers): a crash,
 * as the outage tests need it. `startPostgres` brings the server back (with crash recovery).
 */
export async function killPostgres(home: string): Promise<number | undefined> {
  const pid = postgresPid(home);
  if (pid === undefined) return undefined;
  try {
    // pg_ctl starts the postmaster as a session (and group) leader.
    process.kill(-pid, 'SIGKILL');
  } catch {
    process.kill(pid, 'SIGKILL');
  }
  while (postgresPid(home) !== undefined) await sleep(20);
  return pid;
}
