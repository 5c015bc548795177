import avro from 'avsc';
import type { Schema, Type } from 'avsc';

/**
 * Timestamps travel as RFC 3339 strings so producers' JSON stays natural. The custom logical type
 * lets avsc validate them (with the failing path) while the schema stays a plain Avro `string` to
 * every other reader: the Avro spec says unknown logical types fall back to their underlying type.
 */
export const RFC3339_TIMESTAMP_LOGICAL_TYPE = 'rfc3339-timestamp';

const timestampPattern = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/** The number written by two ASCII digits at `at` (the pattern has checked they are digits). */
const twoDigits = (text: string, at: number): number =>
  (text.charCodeAt(at) - 48) * 10 + text.charCodeAt(at + 1) - 48;

/**
 * RFC 3339 `date-time` (section 5.6) with real calendar ranges. Leap seconds (`:60`) are refused:
 * JavaScript's Date and most webhook consumers' parsers cannot read them. Every timestamp field of
 * every event passes here (twice: avsc checks, then writes), so the fields are read by position
 * once the pattern has matched, without capture groups.
 */
export function isRfc3339Timestamp(text: string): boolean {
  if (!timestampPattern.test(text)) return false;
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  const last = text.charCodeAt(text.length - 1);
  const hasOffset = last !== 90 && last !== 122; // not Z or z: ends with ±hh:mm
  return (
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth(twoDigits(text, 0) * 100 + twoDigits(text, 2), month) &&
    twoDigits(text, 11) <= 23 &&
    twoDigits(text, 14) <= 59 &&
    twoDigits(text, 17) <= 59 &&
    (!hasOffset || (twoDigits(text, text.length - 5) <= 23 && twoDigits(text, text.length - 2) <= 59))
  );
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** avsc logical type for `{"type": "string", "logicalType": "rfc3339-timestamp"}`. */
export class Rfc3339TimestampType extends avro.types.LogicalType {
  constructor(schema: Schema, options?: unknown) {
    super(schema, options);
    if (!avro.Type.isType(this.underlyingType, 'string')) {
      throw new Error(
        `${RFC3339_TIMESTAMP_LOGICAL_TYPE} must annotate a string, got ${this.underlyingType.typeName}`,
      );
    }
  }

  // Returning undefined tells avsc the value is invalid (isValid fails, errorHook fires).
  protected override _toValue(value: unknown): string | undefined {
    return typeof value === 'string' && isRfc3339Timestamp(value) ? value : undefined;
  }

  // Decoded values stay strings: webhook payloads are JSON.
  protected override _fromValue(value: unknown): unknown {
    return value;
  }

  // A newer schema may read data written as a timestamp or as a plain string (tightening a field).
  protected override _resolve(writerType: Type): ((value: unknown) => unknown) | undefined {
    if (writerType instanceof Rfc3339TimestampType || avro.Type.isType(writerType, 'string')) {
      return (value) => value;
    }
    return undefined;
  }
}
