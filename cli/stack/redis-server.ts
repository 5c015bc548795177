import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { SluiceError } from '../../common/errors.js';
import {
  isAlive,
  isPortOpen,
  ownedPid,
  spawnDetached,
  stopProcess,
  tail,
  waitForPortClosed,
} from './processes.js';
import type { StackPaths } from './paths.js';
import { ensureDebianPackage, hasCommand } from './debian-package.js';

export interface RedisServerOptions {
  paths: StackPaths;
  port: number;
  readyTimeoutMs: number;
  log: (line: string) => void;
}

function redisDirs(paths: StackPaths) {
  const home = join(paths.stateDir, 'redis');
  return { home, pidFile: join(home, 'redis.pid'), logFile: join(home, 'redis.log') };
}

/** Installs Debian's redis-server when it is missing (root and apt-get required). */
export function installRedis(log: (line: string) => void): void {
  ensureDebianPackage(
    'redis-server',
    () => hasCommand('redis-server'),
    'install Redis, or set REDIS_URL to an existing server',
    log,
  );
}

export function redisPid(paths: StackPaths, port: number): number | undefined {
  return ownedPid(redisDirs(paths).pidFile, `:${port}`);
}

export async function startRedis(
  options: RedisServerOptions,
): Promise<{ pid: number; alreadyRunning: boolean }> {
  const running = redisPid(options.paths, options.port);
  if (running !== undefined) {
    await waitForRedisReady(`redis://127.0.0.1:${options.port}`, options.readyTimeoutMs, running, options);
    return { pid: running, alreadyRunning: true };
  }
  if (await isPortOpen(options.port)) {
    throw new SluiceError(
      'SLUICE_STACK_FAILED',
      `port ${options.port} is already in use by another process; stop it, or set REDIS_URL to use that server, or SLUICE_STACK_REDIS_PORT to move the local one`,
    );
  }
  installRedis(options.log);
  const dirs = redisDirs(options.paths);
  mkdirSync(dirs.home, { recursive: true });
  const pid = spawnDetached(
    'redis-server',
    // No persistence: dedup and idempotency keys of a dev stack need not survive a restart.
    [
      '--bind',
      '127.0.0.1',
      '--port',
      String(options.port),
      '--dir',
      dirs.home,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
    ],
    { logFile: dirs.logFile, pidFile: dirs.pidFile },
  );
  options.log(`started redis-server (pid ${pid}) on 127.0.0.1:${options.port}`);
  await waitForRedisReady(`redis://127.0.0.1:${options.port}`, options.readyTimeoutMs, pid, options);
  return { pid, alreadyRunning: false };
}

export async function waitForRedisReady(
  url: string,
  timeoutMs: number,
  pid: number | undefined,
  options?: Pick<RedisServerOptions, 'paths'>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (pid !== undefined && !isAlive(pid)) {
      const log = options ? tail(redisDirs(options.paths).logFile) : '';
      throw new SluiceError('SLUICE_STACK_FAILED', `redis-server exited during start-up:\n${log}`);
    }
    const client = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      connectTimeout: 500,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') return;
    } catch {
      // Not ready yet.
    } finally {
      client.disconnect();
    }
    await sleep(100);
  }
  throw new SluiceError('SLUICE_STACK_FAILED', `Redis at ${url} did not answer PING within ${timeoutMs} ms`);
}

export async function stopRedis(options: RedisServerOptions): Promise<boolean> {
  const pid = redisPid(options.paths, options.port);
  if (pid === undefined) return false;
  await stopProcess(pid, redisDirs(options.paths).pidFile, 10_000);
  await waitForPortClosed(options.port, 5_000);
  options.log(`stopped redis-server (pid ${pid})`);
  return true;
}
