import avro from 'avsc';
import type { Type } from 'avsc';

/**
 * Subjects under this prefix belong to Sluice: only Sluice registers them (the registry refuses
 * them from its APIs), and only they may use `bytes`, which no producer can send as JSON but
 * Sluice writes itself (the raw body of an inbound webhook, `sluice.inbound_webhook`).
 */
export const reservedSubjectPrefix = 'sluice.';

export function isReservedSubject(subject: string): boolean {
  return subject.startsWith(reservedSubjectPrefix);
}

export interface AvroPolicyOptions {
  /** `bytes` allowed: only for Sluice's own reserved subjects. */
  allowBytes?: boolean | undefined;
}

/**
 * Rules an event schema must follow so that producers can write its data as plain JSON and
 * consumers can decode it safely. Returns one message per problem, naming the field.
 */
export function findAvroPolicyProblems(type: Type, options: AvroPolicyOptions = {}): string[] {
  const problems: string[] = [];
  if (!(type instanceof avro.types.RecordType)) {
    problems.push(
      `the top-level schema must be a record (event data is a JSON object), got ${type.typeName}`,
    );
  }
  visit(type, 'data', new Set(), problems, options.allowBytes === true);
  return problems;
}

function visit(type: Type, path: string, seen: Set<Type>, problems: string[], allowBytes: boolean): void {
  // Named types can be referenced many times (and recursively): check each once.
  if (seen.has(type)) return;
  seen.add(type);
  if (type instanceof avro.types.BytesType && allowBytes) return;
  if (type instanceof avro.types.BytesType || type instanceof avro.types.FixedType) {
    problems.push(`${path}: ${type.typeName} has no JSON form; use a string (e.g. base64) instead`);
  } else if (type instanceof avro.types.FloatType) {
    problems.push(`${path}: float silently rounds JSON numbers; use double`);
  } else if (type instanceof avro.types.RecordType) {
    if (type.typeName === 'error') problems.push(`${path}: use a record, not an Avro error type`);
    for (const field of type.fields) visit(field.type, `${path}.${field.name}`, seen, problems, allowBytes);
  } else if (type instanceof avro.types.ArrayType) {
    // The decoder's corrupt-count guard (guarded-collection-types.ts) relies on this rule.
    if (isZeroBytes(type.itemsType)) problems.push(`${path}: array items must not encode to zero bytes`);
    visit(type.itemsType, `${path}[]`, seen, problems, allowBytes);
  } else if (type instanceof avro.types.MapType) {
    visit(type.valuesType as Type, `${path}.*`, seen, problems, allowBytes);
  } else if (type instanceof avro.types.UnwrappedUnionType) {
    for (const branch of type.types) visit(branch, path, seen, problems, allowBytes);
  } else if (type instanceof avro.types.LogicalType) {
    visit(type.underlyingType, path, seen, problems, allowBytes);
  }
}

function isZeroBytes(type: Type): boolean {
  if (type instanceof avro.types.NullType) return true;
  if (type instanceof avro.types.RecordType) return type.fields.every((field) => isZeroBytes(field.type));
  return false;
}
