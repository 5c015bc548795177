import type { Schema, Type } from 'avsc';
import { findAvroPolicyProblems, type AvroPolicyOptions } from '../avro-policy.js';
import { createAvroType } from '../create-avro-type.js';
import { RegistryError } from './registry-error.js';

/** A schema as registered: its text in one canonical form, parsed and checked once. */
export interface ParsedSchema {
  /** JSON with sorted keys and no whitespace: the same schema written twice compares equal. */
  canonical: string;
  avroType: Type;
  /** The full name of the top-level record, e.g. `dev.sluice.events.order.OrderCreated`. */
  fullName: string;
}

/** Confluent refuses larger schemas than this by default too; a catalog type is a few KiB. */
export const MAX_SCHEMA_BYTES = 256 * 1024;

/**
 * Parses a schema as a client sends it (the string of Confluent's `{"schema": "…"}`, or an object)
 * and checks it against Sluice's Avro policy. Throws RegistryError INVALID_SCHEMA (42201) naming
 * the problem: not JSON, not Avro, not a record, too large, or breaking a policy rule.
 */
export function parseSchema(input: unknown, policy: AvroPolicyOptions = {}): ParsedSchema {
  let json: unknown = input;
  if (typeof input === 'string') {
    if (Buffer.byteLength(input) > MAX_SCHEMA_BYTES) {
      throw new RegistryError('INVALID_SCHEMA', `Invalid schema: larger than ${MAX_SCHEMA_BYTES} bytes`);
    }
    try {
      json = JSON.parse(input);
    } catch (error) {
      throw new RegistryError('INVALID_SCHEMA', `Invalid schema: not JSON: ${(error as Error).message}`);
    }
  }
  const canonical = JSON.stringify(sortKeys(json));
  if (Buffer.byteLength(canonical) > MAX_SCHEMA_BYTES) {
    throw new RegistryError('INVALID_SCHEMA', `Invalid schema: larger than ${MAX_SCHEMA_BYTES} bytes`);
  }
  let avroType: Type;
  try {
    avroType = createAvroType(json as Schema);
  } catch (error) {
    throw new RegistryError('INVALID_SCHEMA', `Invalid schema: ${(error as Error).message}`);
  }
  const problems = findAvroPolicyProblems(avroType, policy);
  if (problems.length > 0) {
    throw new RegistryError('INVALID_SCHEMA', `Invalid schema: ${problems.join('; ')}`, {
      details: problems,
    });
  }
  // The policy guarantees a record, and every record has a full name.
  const fullName = avroType.name ?? '';
  return { canonical, avroType, fullName };
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}
