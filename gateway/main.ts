import { isSluiceError } from '../common/errors.js';
import { createLogger } from '../common/logger.js';
import { onStopSignal } from '../common/stop-signals.js';
import { startGateway } from './gateway-app.js';
import { loadGatewayConfig } from './gateway-config.js';

/**
 * `sluice gateway`: the only module of the gateway with process-wide side effects (signals, exit).
 * SIGTERM → readiness false, new requests refused, in-flight ones finish, the producer flushes, exit 0.
 */
export async function runGateway(env: NodeJS.ProcessEnv): Promise<number> {
  const logger = createLogger('sluice-gateway');
  let gateway;
  try {
    gateway = await startGateway(loadGatewayConfig(env), logger);
  } catch (error) {
    logger.fatal(
      isSluiceError(error) ? { code: error.code, detail: error.message } : { err: error },
      'gateway failed to start',
    );
    return 1;
  }
  const running = gateway;
  return onStopSignal(logger, () => running.shutdown()).exitCode;
}
