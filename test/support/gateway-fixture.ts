import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { spawnSluice } from './sluice-process.js';
import { createLogger, type Logger } from '../../common/logger.js';
import { generateSecretsKey } from '../../common/subscriptions/secrets-keyring.js';
import { createApiKey, type CreateApiKeyOptions } from '../../gateway/auth/api-key-generator.js';
import { startGateway, type RunningGateway } from '../../gateway/gateway-app.js';
import { loadGatewayConfig } from '../../gateway/gateway-config.js';
import { connectedAdmin } from './kafka-fixture.js';
import { testKafkaBrokers, testRedisUrl, uniqueName } from './stack-env.js';
import { createTopicsWithLeaders } from '../../common/kafka/index.js';

export type TestKeySpec = Omit<CreateApiKeyOptions, 'allowedEventTypes'> & { allowedEventTypes?: string[] };

export interface TestGatewaySetup {
  /** The environment a gateway of this test runs with (its own topic, keys file and Redis prefixes). */
  env: Record<string, string>;
  /** Plain API keys by producer id. */
  keys: Record<string, string>;
  eventsTopic: string;
  /** This test's compacted subscriptions topic (deleted when the test finishes). */
  subscriptionsTopic: string;
  /** This test's compacted inbound sources topic (deleted when the test finishes). */
  sourcesTopic: string;
}

/**
 * A fresh events topic, a keys file with the requested keys, and unique Redis key prefixes:
 * what one gateway test needs so that nothing it does can be seen by another test.
 */
export async function prepareGateway(
  keySpecs: TestKeySpec[],
  envOverrides: Record<string, string> = {},
  eventsPartitions = 3,
): Promise<TestGatewaySetup> {
  const admin = await connectedAdmin();
  const eventsTopic = uniqueName('events');
  const subscriptionsTopic = uniqueName('subscriptions');
  const sourcesTopic = uniqueName('sources');
  await createTopicsWithLeaders(admin, [
    {
      topic: eventsTopic,
      numPartitions: eventsPartitions,
      replicationFactor: 1,
      configEntries: [{ name: 'max.message.bytes', value: String(8 * 1024 * 1024) }],
    },
    {
      topic: subscriptionsTopic,
      numPartitions: 1,
      replicationFactor: 1,
      configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
    },
    {
      topic: sourcesTopic,
      numPartitions: 1,
      replicationFactor: 1,
      configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
    },
  ]);
  onTestFinished(async () => {
    await admin
      .deleteTopics({ topics: [eventsTopic, subscriptionsTopic, sourcesTopic] })
      .catch(() => undefined);
  });
  const dir = mkdtempSync(join(tmpdir(), 'sluice-gateway-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const keys: Record<string, string> = {};
  const lines: string[] = [];
  for (const spec of keySpecs) {
    const created = createApiKey({ ...spec, allowedEventTypes: spec.allowedEventTypes ?? ['*'] });
    keys[spec.producerId] = created.apiKey;
    lines.push(created.line);
  }
  const keysFile = join(dir, 'api-keys.jsonl');
  writeFileSync(keysFile, `${lines.join('\n')}\n`);
  const prefix = uniqueName('t');
  return {
    eventsTopic,
    subscriptionsTopic,
    sourcesTopic,
    keys,
    env: {
      KAFKA_BROKERS: testKafkaBrokers.join(','),
      REDIS_URL: testRedisUrl,
      SLUICE_HOST: '127.0.0.1',
      SLUICE_PORT: '0',
      SLUICE_ADMIN_PORT: '0',
      SLUICE_API_KEYS_FILE: keysFile,
      SLUICE_EVENTS_TOPIC: eventsTopic,
      SLUICE_SUBSCRIPTIONS_TOPIC: subscriptionsTopic,
      SLUICE_SOURCES_TOPIC: sourcesTopic,
      SLUICE_SECRETS_KEYS: generateSecretsKey('test'),
      SLUICE_IDEMPOTENCY_KEY_PREFIX: `${prefix}:idem:`,
      SLUICE_RATE_LIMIT_KEY_PREFIX: `${prefix}:rl:`,
      SLUICE_LOG_LEVEL: 'warn',
      ...envOverrides,
    },
  };
}

export interface TestGateway {
  url: string;
  adminUrl: string;
  gateway: RunningGateway;
}

/** Runs a gateway in this process (logging to `logger` when given); shut down when the test finishes. */
export async function startTestGateway(setup: TestGatewaySetup, logger?: Logger): Promise<TestGateway> {
  const gateway = await startGateway(
    loadGatewayConfig(setup.env),
    logger ?? createLogger('test-gateway', setup.env.SLUICE_LOG_LEVEL),
  );
  let stopped = false;
  onTestFinished(async () => {
    if (!stopped) await gateway.shutdown();
  });
  const shutdown = gateway.shutdown.bind(gateway);
  gateway.shutdown = async () => {
    stopped = true;
    await shutdown();
  };
  return {
    url: `http://127.0.0.1:${gateway.port}`,
    adminUrl: `http://127.0.0.1:${gateway.adminPort}`,
    gateway,
  };
}

export interface GatewayProcess {
  url: string;
  adminUrl: string;
  child: ChildProcess;
  /** Resolves with the exit code once the process ended. */
  exited: Promise<number | null>;
  /** Every log line the process wrote. */
  logLines: string[];
}

/** Runs `sluice gateway` as its own process, as an operator would; killed when the test finishes. */
export async function spawnGateway(setup: TestGatewaySetup): Promise<GatewayProcess> {
  const gateway = await spawnSluice(
    'gateway',
    setup.env,
    (entry) =>
      entry.msg === 'gateway listening' && entry.port && entry.adminPort
        ? { port: Number(entry.port), adminPort: Number(entry.adminPort) }
        : undefined,
    { startTimeoutMs: 30_000 },
  );
  return {
    url: `http://127.0.0.1:${gateway.ready.port}`,
    adminUrl: `http://127.0.0.1:${gateway.ready.adminPort}`,
    child: gateway.child,
    exited: gateway.exited,
    logLines: gateway.logLines,
  };
}
