import { parseDurationMs } from './duration.js';
import { SluiceError } from './errors.js';

export type Env = Readonly<Record<string, string | undefined>>;

const byteUnits: Record<string, number> = {
  b: 1,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** Parses `256KiB`, `1MiB`, `5MB` or a bare number of bytes. */
export function parseBytes(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?\s*$/i.exec(text);
  if (!match) return undefined;
  const unit = (match[2] ?? 'b').toLowerCase();
  return Math.round(Number(match[1]) * (byteUnits[unit] ?? 1));
}

/**
 * Reads settings from an environment and collects every problem instead of stopping at the first,
 * so an operator fixes a broken deployment in one pass. Call `finish()` once all fields are read.
 */
export class EnvReader {
  private readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  /** The raw value of the first name that is set (names after the first are aliases). */
  raw(...names: string[]): string | undefined {
    for (const name of names) {
      const value = this.env[name];
      if (value !== undefined && value.trim() !== '') return value.trim();
    }
    return undefined;
  }

  string(names: string | string[], fallback: string): string {
    return this.raw(...toList(names)) ?? fallback;
  }

  optionalString(names: string | string[]): string | undefined {
    return this.raw(...toList(names));
  }

  list(names: string | string[], fallback: readonly string[]): string[] {
    const value = this.raw(...toList(names));
    if (value === undefined) return [...fallback];
    return value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  }

  integer(names: string | string[], fallback: number, bounds: { min?: number; max?: number } = {}): number {
    return this.parsed(names, fallback, bounds, 'a whole number', (text) =>
      /^-?\d+$/.test(text) ? Number(text) : undefined,
    );
  }

  number(names: string | string[], fallback: number, bounds: { min?: number; max?: number } = {}): number {
    return this.parsed(names, fallback, bounds, 'a number', (text) => {
      const value = Number(text);
      return Number.isFinite(value) ? value : undefined;
    });
  }

  durationMs(
    names: string | string[],
    fallbackMs: number,
    bounds: { min?: number; max?: number } = {},
  ): number {
    return this.parsed(names, fallbackMs, bounds, 'a duration such as 250ms, 15s or 2m', parseDurationMs);
  }

  bytes(
    names: string | string[],
    fallbackBytes: number,
    bounds: { min?: number; max?: number } = {},
  ): number {
    return this.parsed(names, fallbackBytes, bounds, 'a size such as 256KiB or 1MiB', parseBytes);
  }

  boolean(names: string | string[], fallback: boolean): boolean {
    const nameList = toList(names);
    const value = this.raw(...nameList);
    if (value === undefined) return fallback;
    if (/^(1|true|yes|on)$/i.test(value)) return true;
    if (/^(0|false|no|off)$/i.test(value)) return false;
    this.problems.push(`${nameList[0]} must be true or false, got ${JSON.stringify(value)}`);
    return fallback;
  }

  oneOf<T extends string>(names: string | string[], allowed: readonly T[], fallback: T): T {
    const nameList = toList(names);
    const value = this.raw(...nameList);
    if (value === undefined) return fallback;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    this.problems.push(`${nameList[0]} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
    return fallback;
  }

  /** Records a problem found by a cross-field check. */
  problem(message: string): void {
    this.problems.push(message);
  }

  /** Throws one SLUICE_CONFIG_INVALID error listing every problem, or returns the value frozen. */
  finish<T extends object>(config: T): Readonly<T> {
    if (this.problems.length > 0) {
      throw new SluiceError(
        'SLUICE_CONFIG_INVALID',
        `invalid configuration:\n  - ${this.problems.join('\n  - ')}`,
        { details: { problems: [...this.problems] } },
      );
    }
    return deepFreeze(config);
  }

  private parsed(
    names: string | string[],
    fallback: number,
    bounds: { min?: number; max?: number },
    expected: string,
    parse: (text: string) => number | undefined,
  ): number {
    const nameList = toList(names);
    const text = this.raw(...nameList);
    if (text === undefined) return fallback;
    const value = parse(text);
    const name = nameList[0];
    if (value === undefined) {
      this.problems.push(`${name} must be ${expected}, got ${JSON.stringify(text)}`);
      return fallback;
    }
    if (bounds.min !== undefined && value < bounds.min) {
      this.problems.push(`${name} must be at least ${bounds.min}, got ${text}`);
      return fallback;
    }
    if (bounds.max !== undefined && value > bounds.max) {
      this.problems.push(`${name} must be at most ${bounds.max}, got ${text}`);
      return fallback;
    }
    return value;
  }
}

function toList(names: string | string[]): string[] {
  return typeof names === 'string' ? [names] : names;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
