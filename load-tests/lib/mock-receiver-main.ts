// Runs the mock webhook receiver on its own, for delivery benchmarks against a running Sluice:
//   PORT=9000 WEBHOOK_SECRETS=whsec_… FAILURE_RATE=0.05 DELAY_MS=20 \
//     node --import tsx load-tests/lib/mock-receiver-main.ts
// Prints one JSON line of counters every REPORT_INTERVAL_MS (default 5000) and a last one on Ctrl-C.
import { startMockReceiver, type MockReceiverStats } from './mock-receiver.js';

const env = process.env;
const numberOf = (name: string): number | undefined => {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) {
    process.stderr.write(`${name} must be a number, got ${JSON.stringify(value)}\n`);
    process.exit(2);
  }
  return parsed;
};

const receiver = await startMockReceiver({
  port: numberOf('PORT') ?? 9000,
  host: env.HOST ?? '127.0.0.1',
  failureRate: numberOf('FAILURE_RATE'),
  failureStatus: numberOf('FAILURE_STATUS'),
  failureRetryAfterSeconds: numberOf('FAILURE_RETRY_AFTER_SECONDS'),
  failFirstAttempts: numberOf('FAIL_FIRST_ATTEMPTS'),
  delayMs: numberOf('DELAY_MS'),
  recordRequests: false,
  secrets: env.WEBHOOK_SECRETS ? env.WEBHOOK_SECRETS.split(/[\s,]+/).filter(Boolean) : undefined,
});
process.stdout.write(`${JSON.stringify({ msg: 'mock receiver listening', url: receiver.url })}\n`);

let last: MockReceiverStats = receiver.stats();
let lastAtMs = Date.now();
const report = () => {
  const stats = receiver.stats();
  const nowMs = Date.now();
  const perSecond = ((stats.delivered - last.delivered) * 1000) / Math.max(1, nowMs - lastAtMs);
  process.stdout.write(`${JSON.stringify({ ...stats, deliveredPerSecond: Math.round(perSecond) })}\n`);
  last = stats;
  lastAtMs = nowMs;
};
const timer = setInterval(report, numberOf('REPORT_INTERVAL_MS') ?? 5000);
const stop = () => {
  clearInterval(timer);
  report();
  void receiver.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
