import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Env } from '../common/config.js';
import type { Logger } from '../common/logger.js';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSecretsKey } from '../common/subscriptions/secrets-keyring.js';
import { createApiKey } from '../gateway/auth/api-key-generator.js';
import { repoRoot } from './stack/paths.js';
import { stackUp } from './stack/stack.js';
import { topicsEnsure } from './topics-command.js';

/**
 * `sluice dev`: the whole of Sluice on one machine. Brings up the local stack, ensures the
 * topics, then runs each Sluice process as a child until Ctrl-C (or until one of them dies,
 * which stops the others so the failure is not missed). The stack is left running for the next run.
 */
export async function runDev(env: Env, logger: Logger, roles: readonly string[]): Promise<number> {
  const endpoints = await stackUp(env, (line) => logger.info(line));
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
    REDIS_URL: endpoints.redisUrl,
  };
  if (!childEnv.SLUICE_SECRETS_KEYS) childEnv.SLUICE_SECRETS_KEYS = devSecretsKey();
  if (!childEnv.SLUICE_API_KEYS_FILE) {
    const dev = devApiKey();
    childEnv.SLUICE_API_KEYS_FILE = dev.keysFile;
    logger.info(
      { keysFile: dev.keysFile },
      `development API key (admin, every event type): ${dev.apiKey} (kept in .sluice/dev/api-key.txt)`,
    );
  }
  await topicsEnsure(childEnv, logger);
  // The CLI beside this module: sluice.ts from a checkout (run through tsx), sluice.js when built.
  const entry = fileURLToPath(import.meta.url).replace(/dev-command\.(ts|js)$/, 'sluice.$1');
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
      const execArgs = entry.endsWith('.ts')
        ? ['--import', import.meta.resolve('tsx'), entry, role]
        : [entry, role];
      const child = spawn(process.execPath, execArgs, { env: roleEnv(childEnv, role), stdio: 'inherit' });
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
  logger.info(
    { roles, kafka: endpoints.kafkaBrokers, redis: endpoints.redisUrl },
    'Sluice is running; Ctrl-C stops it',
  );
  return exitCode;
}

/**
 * Both processes read SLUICE_ADMIN_PORT; their defaults differ (8081, 8082), but one value set for
 * the whole dev run would make the second fail to bind. The gateway takes it, the delivery worker
 * the next port up (0, any free port, stays 0).
 */
export function roleEnv(env: NodeJS.ProcessEnv, role: string): NodeJS.ProcessEnv {
  const adminPort = Number(env.SLUICE_ADMIN_PORT);
  if (role !== 'deliver' || !(Number.isInteger(adminPort) && adminPort > 0)) return env;
  return { ...env, SLUICE_ADMIN_PORT: String(adminPort + 1) };
}

/**
 * A local key for `sluice dev` when no keys file is configured: created once, kept in
 * `.sluice/dev` (git-ignored). Only here is a plain key written to disk, for a developer's machine.
 */
function devApiKey(): { apiKey: string; keysFile: string } {
  const dir = join(repoRoot(), '.sluice', 'dev');
  const keysFile = join(dir, 'api-keys.jsonl');
  const keyFile = join(dir, 'api-key.txt');
  if (existsSync(keysFile) && existsSync(keyFile))
    return { apiKey: readFileSync(keyFile, 'utf8').trim(), keysFile };
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
  return { apiKey: created.apiKey, keysFile };
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
