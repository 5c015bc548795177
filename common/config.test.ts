import { describe, expect, it } from 'vitest';
import { EnvReader, parseBytes } from './config.js';
import { isSluiceError } from './errors.js';

describe('parseBytes', () => {
  it.each([
    ['256KiB', 262_144],
    ['1MiB', 1_048_576],
    ['5MB', 5_000_000],
    ['100', 100],
  ])('reads %s as %d bytes', (text, expected) => expect(parseBytes(text)).toBe(expected));

  it('refuses a unit it does not know', () => expect(parseBytes('3 bananas')).toBeUndefined());
});

describe('EnvReader', () => {
  it('uses defaults, reads aliases, and freezes the result', () => {
    const reader = new EnvReader({ KAFKA_BROKERS: 'a:1,b:2', SLUICE_TIMEOUT_MS: '2s' });
    const config = reader.finish({
      brokers: reader.list(['SLUICE_KAFKA_BROKERS', 'KAFKA_BROKERS'], []),
      timeoutMs: reader.durationMs('SLUICE_TIMEOUT_MS', 100),
      port: reader.integer('SLUICE_PORT', 8080),
    });
    expect(config).toEqual({ brokers: ['a:1', 'b:2'], timeoutMs: 2000, port: 8080 });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.brokers)).toBe(true);
  });

  it('reports every problem at once, naming each variable and its bad value', () => {
    const reader = new EnvReader({
      SLUICE_PORT: 'eighty',
      SLUICE_TIMEOUT_MS: 'never',
      SLUICE_TLS: 'maybe',
      SLUICE_MODE: 'x',
    });
    reader.integer('SLUICE_PORT', 8080);
    reader.durationMs('SLUICE_TIMEOUT_MS', 100);
    reader.boolean('SLUICE_TLS', false);
    reader.oneOf('SLUICE_MODE', ['local', 'redis'] as const, 'local');
    let caught: unknown;
    try {
      reader.finish({});
    } catch (error) {
      caught = error;
    }
    expect(isSluiceError(caught, 'SLUICE_CONFIG_INVALID')).toBe(true);
    const problems = (caught as { details: { problems: string[] } }).details.problems;
    expect(problems).toHaveLength(4);
    expect(problems[0]).toBe('SLUICE_PORT must be a whole number, got "eighty"');
    expect(problems.join('\n')).toContain('SLUICE_TIMEOUT_MS');
    expect(problems.join('\n')).toContain('SLUICE_MODE must be one of local, redis, got "x"');
  });

  it('enforces bounds', () => {
    const reader = new EnvReader({ SLUICE_PORT: '70000' });
    reader.integer('SLUICE_PORT', 8080, { min: 1, max: 65535 });
    expect(() => reader.finish({})).toThrow('SLUICE_PORT must be at most 65535, got 70000');
  });
});
