import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { SluiceError } from './errors.js';

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

export type LogFormat = 'json' | 'pretty';

/**
 * `SLUICE_LOG_FORMAT`: `json` (one JSON object a line), `pretty` (for people) or `auto` (the
 * default: pretty when stdout is a terminal, so a container or a pipe always gets JSON lines).
 */
export function logFormat(setting: string | undefined, stdoutIsTty: boolean): LogFormat {
  const value = (setting ?? '').trim().toLowerCase();
  if (value === 'json' || value === 'pretty') return value;
  if (value === '' || value === 'auto') return stdoutIsTty ? 'pretty' : 'json';
  throw new SluiceError(
    'SLUICE_CONFIG_INVALID',
    `SLUICE_LOG_FORMAT must be json, pretty or auto, got ${setting}`,
  );
}

/**
 * One pretty stream per process, shared by every logger. Synchronous and in this thread, not a
 * pino transport: a transport's worker thread drops what it has not written when the process
 * calls exit, and the last lines (why it stopped) are the ones that matter.
 */
let prettyStream: DestinationStream | undefined;

function stdoutStream(format: LogFormat): DestinationStream | undefined {
  if (format === 'json') return undefined; // pino's own stdout writer
  prettyStream ??= pretty({
    sync: true,
    destination: 1,
    colorize: process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    // Fields after the message on its line; an error's stack still gets lines of its own.
    singleLine: true,
    // The logger's name is shown already, in brackets after the level.
    ignore: 'service',
  });
  return prettyStream;
}

/**
 * Logs on stdout: JSON lines, or readable lines on a terminal (see `logFormat`). Redaction runs in
 * pino before either is written. `SLUICE_LOG_LEVEL` picks the level (default info). `destination`
 * replaces stdout with JSON lines written there (tests that read what a process logs).
 */
export function createLogger(
  name: string,
  level = process.env.SLUICE_LOG_LEVEL ?? 'info',
  destination?: DestinationStream,
): Logger {
  const options = {
    name,
    level,
    base: { service: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: redactPaths, censor: '[redacted]' },
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (destination !== undefined) return pino(options, destination);
  const stream = stdoutStream(logFormat(process.env.SLUICE_LOG_FORMAT, process.stdout.isTTY === true));
  return stream === undefined ? pino(options) : pino(options, stream);
}
