import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { logFormat } from './logger.js';

/** What a fresh process writes to stdout (a pipe, not a terminal) when it logs and exits at once. */
function logAndExit(format: string): string {
  const script = `
    const { createLogger } = await import('./common/logger.ts');
    const logger = createLogger('sluice-test', 'info');
    logger.info({ apiKey: 'sk_plain', subscription: { secret: 'whsec_plain' }, port: 8080 }, 'gateway listening');
    logger.error('the last words');
    process.exit(3);
  `;
  try {
    execFileSync(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', script],
      {
        encoding: 'utf8',
        env: { ...process.env, SLUICE_LOG_FORMAT: format },
      },
    );
  } catch (error) {
    return (error as { stdout: string }).stdout;
  }
  throw new Error('expected exit code 3');
}

describe('logFormat (SLUICE_LOG_FORMAT)', () => {
  it('is pretty on a terminal and JSON otherwise when unset or auto', () => {
    expect(logFormat(undefined, true)).toBe('pretty');
    expect(logFormat(undefined, false)).toBe('json');
    expect(logFormat(' Auto ', true)).toBe('pretty');
    expect(logFormat('', false)).toBe('json');
  });

  it('is what it says when set, terminal or not', () => {
    expect(logFormat('json', true)).toBe('json');
    expect(logFormat('pretty', false)).toBe('pretty');
  });

  it('refuses anything else, naming the variable and the value', () => {
    expect(() => logFormat('yaml', false)).toThrow(
      'SLUICE_LOG_FORMAT must be json, pretty or auto, got yaml',
    );
  });
});

describe('createLogger output', () => {
  it('writes JSON lines with secrets redacted, the last line included when the process exits at once', () => {
    const lines = logAndExit('json')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      level: 'info',
      service: 'sluice-test',
      msg: 'gateway listening',
      apiKey: '[redacted]',
      subscription: { secret: '[redacted]' },
      port: 8080,
    });
    expect(lines[1]).toMatchObject({ level: 'error', msg: 'the last words' });
  });

  it('writes readable lines with secrets redacted, the last line included when the process exits at once', () => {
    const text = logAndExit('pretty');
    expect(text).toMatch(
      /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(sluice-test\): gateway listening \{.*"port":8080.*\}$/m,
    );
    expect(text).toContain('"apiKey":"[redacted]"');
    expect(text).toMatch(/ERROR \(sluice-test\): the last words/);
    expect(text).not.toContain('sk_plain');
    expect(text).not.toContain('whsec_plain');
    // Not a terminal: no colours even when pretty.
    expect(text).not.toContain('\u001b[');
  });
});
