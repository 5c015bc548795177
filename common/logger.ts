import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Paths that may carry secrets anywhere in a log object. Redaction is the last line of defence:
 * code must not log secrets in the first place.
 */
const redactPaths = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  'apiKey',
  '*.apiKey',
  'secret',
  '*.secret',
  'secrets',
  '*.secrets',
  'password',
  '*.password',
  'encryptionKey',
  '*.encryptionKey',
];

/** Structured JSON logs on stdout; `SLUICE_LOG_LEVEL` picks the level (default info). */
export function createLogger(name: string, level = process.env.SLUICE_LOG_LEVEL ?? 'info'): Logger {
  return pino({
    name,
    level,
    base: { service: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: redactPaths, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
  });
}
