import type { DestinationStream } from 'pino';
import { createLogger, type Logger } from '../../common/logger.js';

export interface CapturedLogs {
  logger: Logger;
  /** Every line written so far, as pino wrote it (JSON, redaction applied). */
  lines: string[];
}

/** A logger configured as every process's (redaction included), at `level`, keeping its lines in memory. */
export function captureLogs(name: string, level = 'trace'): CapturedLogs {
  const lines: string[] = [];
  const destination: DestinationStream = { write: (line: string) => void lines.push(line) };
  return { logger: createLogger(name, level, destination), lines };
}
