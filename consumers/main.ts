import { EnvReader } from '../common/config.js';
import { isSluiceError, SluiceError } from '../common/errors.js';
import { createKafkaClient } from '../common/kafka/index.js';
import { createLogger } from '../common/logger.js';
import { createSsrfPolicy } from '../common/ssrf-guard.js';
import { onStopSignal } from '../common/stop-signals.js';
import { readSecretsKeyring, type SecretsKeyring } from '../common/subscriptions/secrets-keyring.js';
import { createSubscriptionStore } from '../common/subscriptions/subscription-store.js';
import { loadDeliveryConfig, type DeliveryConfig } from './delivery-config.js';
import { startDeliveryWorker } from './delivery-worker.js';

/**
 * The delivery config and the keyring that decrypts subscription secrets, every problem reported at
 * once. Exported for the chart tests, which run it on the environment the chart renders.
 */
export function loadDeliveryProcessConfig(env: NodeJS.ProcessEnv): {
  config: DeliveryConfig;
  keyring: SecretsKeyring;
} {
  const problems: string[] = [];
  let config: DeliveryConfig | undefined;
  try {
    config = loadDeliveryConfig(env);
  } catch (error) {
    if (!isSluiceError(error, 'SLUICE_CONFIG_INVALID')) throw error;
    problems.push(...((error.details.problems as string[] | undefined) ?? [error.message]));
  }
  const reader = new EnvReader(env);
  const keyring = readSecretsKeyring(reader);
  try {
    reader.finish({});
  } catch (error) {
    if (!isSluiceError(error, 'SLUICE_CONFIG_INVALID')) throw error;
    problems.push(...((error.details.problems as string[] | undefined) ?? [error.message]));
  }
  if (config === undefined || problems.length > 0) {
    throw new SluiceError('SLUICE_CONFIG_INVALID', `invalid configuration:\n  - ${problems.join('\n  - ')}`, {
      details: { problems },
    });
  }
  return { config, keyring };
}

/**
 * `sluice deliver`: the only module of the delivery worker with process-wide side effects.
 * SIGTERM → stop fetching, finish in-flight deliveries within the grace period, commit, exit 0.
 * A Kafka consumer that crashed for good → exit 1, so the orchestrator restarts the process.
 */
export async function runDeliver(env: NodeJS.ProcessEnv): Promise<number> {
  const logger = createLogger('sluice-deliver');
  let loaded;
  try {
    loaded = loadDeliveryProcessConfig(env);
  } catch (error) {
    logger.fatal(
      isSluiceError(error) ? { code: error.code, detail: error.message } : { err: error },
      'delivery worker failed to start',
    );
    return 1;
  }
  const { config, keyring } = loaded;
  const kafka = createKafkaClient(config.kafka, logger);
  let fatal: (error: unknown) => void = () => undefined;
  let storeCrashed = false;
  const store = createSubscriptionStore({
    kafka,
    topic: config.topics.subscriptionsTopic,
    keyring,
    ssrfPolicy: createSsrfPolicy({ allowedCidrs: config.ssrfAllowedCidrs }),
    logger: logger.child({ component: 'subscriptions' }),
    onFatalError: (error) => {
      storeCrashed = true;
      fatal(error);
    },
  });
  let worker;
  try {
    await store.start();
    worker = await startDeliveryWorker(config, logger, {
      kafka,
      subscriptions: store,
      subscriptionsReady: () => !storeCrashed && store.stats().caughtUp,
      disable: (subscriptionId, reason, details) => store.disable(subscriptionId, reason, details),
      onFatal: (error) => fatal(error),
    });
  } catch (error) {
    logger.fatal(
      isSluiceError(error) ? { code: error.code, detail: error.message } : { err: error },
      'delivery worker failed to start',
    );
    await store.stop().catch(() => undefined);
    return 1;
  }
  const running = worker;
  const signals = onStopSignal(logger, () => running.shutdown().then(() => store.stop()));
  fatal = (error) => {
    // Nothing is committed past unresolved work, so exiting at once loses nothing.
    logger.fatal({ err: error }, 'a Kafka consumer stopped for good; exiting so the process is restarted');
    signals.exit(1);
  };
  return signals.exitCode;
}
