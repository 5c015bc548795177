import { spawn, type ChildProcess } from 'node:child_process';
import type { Env } from '../common/config.js';
import type { Logger } from '../common/logger.js';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { redactDatabaseUrl } from '../common/postgres/index.js';
import { generateSecretsKey } from '../common/subscriptions/secrets-keyring.js';
import { runLogMigrate } from '../log/main.js';
import { createApiKey } from '../gateway/auth/api-key-generator.js';
import { repoRoot } from './stack/paths.js';
import { stackUp } from './stack/stack.js';
import { schemasImport } from './schemas-command.js';
import { topicsEnsure } from './topics-command.js';

/**
 * Loopback, so that `sluice listen` (a receiver on this machine) can be subscribed: the SSRF policy
 * refuses it otherwise. Only `sluice dev` sets it, and only when the variable is unset.
 */
export const devSsrfAllowedCidrs = '127.0.0.0/8,::1/128';

const readyPollMs = 500;
const slowReadyNoticeMs = 30_000;

/**
 * `sluice dev`: the whole of Sluice on one machine. Brings up the local stack, ensures the
 * topics, imports the example event types, then runs each Sluice process as a child until Ctrl-C (or until one of them dies,
 * which stops the others so the failure is not missed), and prints one "ready" block once they
 * all answer /readyz. The stack is left running for the next run.
 */
export async function runDev(env: Env, logger: Logger, wantedRoles: readonly string[]): Promise<number> {
  const endpoints = await stackUp(env, (line) => logger.info(line));
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
    REDIS_URL: endpoints.redisUrl,
    SLUICE_LOG_DATABASE_URL: endpoints.databaseUrl,
  };
  if (!childEnv.SLUICE_SECRETS_KEYS) childEnv.SLUICE_SECRETS_KEYS = devSecretsKey();
  let devKey: DevReadyInfo['devKey'];
  if (!childEnv.SLUICE_API_KEYS_FILE) {
    const dev = devApiKey();
    childEnv.SLUICE_API_KEYS_FILE = dev.keysFile;
    devKey = { apiKey: dev.apiKey, file: relative(process.cwd(), dev.keyFile) || dev.keyFile };
  }
  const ssrfDefaulted = !childEnv.SLUICE_SSRF_ALLOWED_CIDRS;
  if (ssrfDefaulted) childEnv.SLUICE_SSRF_ALLOWED_CIDRS = devSsrfAllowedCidrs;
  await topicsEnsure(childEnv, logger);
  // The examples are event types like any other: registered (idempotently) before the gateway starts.
  await schemasImport([], childEnv, logger);
  // The delivery log runs beside the worker once its database is migrated; a database that cannot
  // be migrated leaves the log out (delivery never depends on it), said once here.
  let roles = wantedRoles;
  if (roles.includes('deliver') && !roles.includes('log')) {
    if ((await runLogMigrate(childEnv, logger)) === 0) roles = [...roles, 'log'];
    else logger.warn('the delivery log database could not be migrated; running without `sluice log`');
  }
  const entry = join(repoRoot(), 'bin', 'sluice.js');
  const children = new Map<string, ChildProcess>();
  let stopping = false;
  const exitCode = new Promise<number>((resolve) => {
    const stopAll = (code: number) => {
      if (stopping) return;
      stopping = true;
      for (const child of children.values()) child.kill('SIGTERM');
      const waitAll = [...children.values()].map(
        (child) => new Promise((done) => (child.exitCode !== null ? done(null) : child.once('exit', done))),
      );
      void Promise.all(waitAll).then(() => resolve(code));
    };
    process.once('SIGINT', () => stopAll(0));
    process.once('SIGTERM', () => stopAll(0));
    for (const role of roles) {
      // The IPC channel is how a child learns that this process is gone, even by SIGKILL, which
      // cannot be caught here: the kernel closes the channel, and the child shuts itself down
      // (see exitWithParent). Without it the gateway and worker would live on, orphaned.
      const child = spawn(process.execPath, [entry, role], {
        env: roleEnv(childEnv, role),
        stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
      });
      children.set(role, child);
      child.once('exit', (code, signal) => {
        if (!stopping) {
          logger.error({ role, code, signal }, 'a Sluice process exited; stopping the others');
          stopAll(1);
        }
      });
    }
    if (roles.length === 0) logger.info('no Sluice processes to run yet; the stack stays up until Ctrl-C');
  });
  const ports = devPorts(childEnv);
  void waitUntilReady(roles, ports, logger, () => stopping).then((ready) => {
    if (!ready) return;
    process.stderr.write(
      devReadyBlock({
        roles,
        ports,
        devKey,
        ssrfAllowedCidrs: childEnv.SLUICE_SSRF_ALLOWED_CIDRS ?? '',
        ssrfDefaulted,
        databaseUrl: endpoints.databaseUrl,
      }),
    );
  });
  return exitCode;
}

/**
 * Called first by the CLI. A process started by `sluice dev` has an IPC channel to it; when the
 * channel closes (`sluice dev` exited, crashed or was SIGKILLed), the process stops itself
 * gracefully with the SIGTERM it would have been sent. Unreferenced, so that an open channel never
 * keeps a finished process alive.
 */
export function exitWithParent(): void {
  if (process.channel === undefined) return;
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  process.channel.unref();
}

/**
 * Every process reads SLUICE_ADMIN_PORT; their defaults differ (8081, 8082, 8083), but one value
 * set for the whole dev run would make the second fail to bind. The gateway takes it, the delivery
 * worker the next port up, the delivery log the one after (0, any free port, stays 0).
 */
export function roleEnv(env: NodeJS.ProcessEnv, role: string): NodeJS.ProcessEnv {
  const adminPort = Number(env.SLUICE_ADMIN_PORT);
  const offset = role === 'deliver' ? 1 : role === 'log' ? 2 : 0;
  if (offset === 0 || !(Number.isInteger(adminPort) && adminPort > 0)) return env;
  return { ...env, SLUICE_ADMIN_PORT: String(adminPort + offset) };
}

export interface DevPorts {
  /** Where a client on this machine reaches the processes (the bind address when it is not a wildcard). */
  host: string;
  /** 0: any free port, which only the process's own log line names. */
  gateway: number;
  gatewayAdmin: number;
  deliverAdmin: number;
  logAdmin: number;
}

/** The ports the processes of a dev run will bind, from the same variables and defaults they read. */
export function devPorts(env: NodeJS.ProcessEnv): DevPorts {
  const port = (value: string | undefined, fallback: number) => {
    const parsed = Number(value);
    return value !== undefined && value.trim() !== '' && Number.isInteger(parsed) ? parsed : fallback;
  };
  const bind = env.SLUICE_HOST?.trim() || '0.0.0.0';
  const host = bind === '0.0.0.0' || bind === '::' ? '127.0.0.1' : bind.includes(':') ? `[${bind}]` : bind;
  return {
    host,
    gateway: port(env.SLUICE_PORT, 8080),
    gatewayAdmin: port(env.SLUICE_ADMIN_PORT, 8081),
    deliverAdmin: port(roleEnv(env, 'deliver').SLUICE_ADMIN_PORT, 8082),
    logAdmin: port(roleEnv(env, 'log').SLUICE_ADMIN_PORT, 8083),
  };
}

/** Polls each process's /readyz until all answer 200; false if the run stopped first. */
async function waitUntilReady(
  roles: readonly string[],
  ports: DevPorts,
  logger: Logger,
  stopped: () => boolean,
): Promise<boolean> {
  const adminPorts: Record<string, number> = {
    gateway: ports.gatewayAdmin,
    deliver: ports.deliverAdmin,
    log: ports.logAdmin,
  };
  const startedMs = Date.now();
  let noticed = false;
  for (const role of roles) {
    const adminPort = adminPorts[role];
    if (adminPort === undefined || adminPort === 0) continue;
    for (;;) {
      if (stopped()) return false;
      const readiness = await readyz(`http://${ports.host}:${adminPort}/readyz`);
      if (readiness.ready) break;
      if (!noticed && Date.now() - startedMs > slowReadyNoticeMs) {
        noticed = true;
        logger.info({ role, reasons: readiness.reasons }, 'still waiting for the process to be ready');
      }
      await new Promise((resolve) => setTimeout(resolve, readyPollMs));
    }
  }
  return !stopped();
}

async function readyz(url: string): Promise<{ ready: boolean; reasons: unknown }> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    const body = (await response.json().catch(() => ({}))) as { reasons?: unknown };
    return { ready: response.status === 200, reasons: body.reasons ?? `status ${response.status}` };
  } catch (error) {
    return { ready: false, reasons: error instanceof Error ? error.message : String(error) };
  }
}

export interface DevReadyInfo {
  roles: readonly string[];
  ports: DevPorts;
  /** The key `sluice dev` made, when it made one (no SLUICE_API_KEYS_FILE given). */
  devKey: { apiKey: string; file: string } | undefined;
  ssrfAllowedCidrs: string;
  /** Whether SLUICE_SSRF_ALLOWED_CIDRS is `sluice dev`'s default rather than the user's. */
  ssrfDefaulted: boolean;
  /** The delivery log's database (printed without its password), when `sluice log` runs. */
  databaseUrl?: string;
}

/** The block `sluice dev` prints once every process is ready: what runs where, and what to do next. */
export function devReadyBlock(info: DevReadyInfo): string {
  const { ports } = info;
  const url = (port: number) =>
    port === 0 ? 'any free port (see its log line)' : `http://${ports.host}:${port}`;
  const gatewayUrl = url(ports.gateway);
  const rule = '─'.repeat(78);
  const lines = [rule, 'Sluice is ready'];
  if (info.roles.includes('gateway')) {
    lines.push(`  events API     ${gatewayUrl}/v1/events   (subscriptions: /v1/subscriptions)`);
    lines.push(`  gateway admin  ${url(ports.gatewayAdmin)}   (/metrics, /readyz, /healthz)`);
  }
  if (info.roles.includes('deliver')) {
    lines.push(`  worker admin   ${url(ports.deliverAdmin)}   (/metrics, /readyz, /healthz)`);
  }
  if (info.roles.includes('log')) {
    lines.push(`  delivery log   ${url(ports.logAdmin)}   (/metrics, /readyz, /healthz)`);
    if (info.databaseUrl !== undefined) {
      lines.push(`  log database   ${redactDatabaseUrl(info.databaseUrl)}   (table attempts)`);
    }
  }
  if (info.devKey) {
    lines.push(`  API key        ${info.devKey.apiKey}`);
    lines.push(`                 admin, every event type; kept in ${info.devKey.file}`);
  } else {
    lines.push('  API keys       from SLUICE_API_KEYS_FILE');
  }
  lines.push(
    `  webhooks       may reach ${info.ssrfAllowedCidrs || 'public addresses only'}` +
      (info.ssrfDefaulted ? ' (sluice dev default of SLUICE_SSRF_ALLOWED_CIDRS)' : ''),
  );
  lines.push('  logs           on this terminal (SLUICE_LOG_FORMAT=json for JSON lines)');
  const keyFile = info.devKey?.file ?? '<your key file>';
  const gatewayFlag = ports.gateway === 8080 && ports.host === '127.0.0.1' ? '' : ` --gateway ${gatewayUrl}`;
  const apiKeyFlag = info.devKey ? '' : ' --api-key <an admin key>';
  lines.push(
    '',
    'Next: watch deliveries arrive, signed and verified, in another terminal:',
    `  node bin/sluice.js listen --events 'account.*'${gatewayFlag}${apiKeyFlag}`,
    'then send an event from a third:',
    `  KEY=$(cat ${keyFile})`,
    `  curl -i ${gatewayUrl}/v1/events -H "authorization: Bearer $KEY" -H 'content-type: application/json' \\`,
    `    -d "{\\"type\\":\\"account.created\\",\\"key\\":\\"acct_1\\",\\"data\\":$(cat schemas/fixtures/account.created/v1.json)}"`,
    '',
    'Stop: Ctrl-C. Kafka and Redis stay up for the next run; `node bin/sluice.js stack down` stops them.',
    rule,
    '',
  );
  return lines.join('\n');
}

/**
 * A local key for `sluice dev` when no keys file is configured: created once, kept in
 * `.sluice/dev` (git-ignored). Only here is a plain key written to disk, for a developer's machine.
 */
function devApiKey(): { apiKey: string; keysFile: string; keyFile: string } {
  const dir = join(repoRoot(), '.sluice', 'dev');
  const keysFile = join(dir, 'api-keys.jsonl');
  const keyFile = join(dir, 'api-key.txt');
  if (existsSync(keysFile) && existsSync(keyFile))
    return { apiKey: readFileSync(keyFile, 'utf8').trim(), keysFile, keyFile };
  mkdirSync(dir, { recursive: true });
  const created = createApiKey({
    producerId: 'dev',
    role: 'admin',
    allowedEventTypes: ['*'],
    ratePerSecond: 100_000,
    burst: 200_000,
    priority: 'critical',
    description: 'sluice dev',
  });
  writeFileSync(keysFile, `${created.line}\n`, { mode: 0o600 });
  writeFileSync(keyFile, `${created.apiKey}\n`, { mode: 0o600 });
  return { apiKey: created.apiKey, keysFile, keyFile };
}

/** The key that encrypts subscription signing secrets in a dev stack, made once and kept in `.sluice/dev`. */
function devSecretsKey(): string {
  const dir = join(repoRoot(), '.sluice', 'dev');
  const file = join(dir, 'secrets-keys.txt');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dir, { recursive: true });
  const key = generateSecretsKey('dev1');
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}
