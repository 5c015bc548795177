import avro from 'avsc';
import type { Type } from 'avsc';

/** Confluent's compatibility levels, with the same names and meaning. */
export const COMPATIBILITY_LEVELS = [
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
  'NONE',
] as const;

export type CompatibilityLevel = (typeof COMPATIBILITY_LEVELS)[number];

/** Confluent's default, and Sluice's: consumers upgraded first can read everything written before. */
export const DEFAULT_COMPATIBILITY: CompatibilityLevel = 'BACKWARD';

export function isCompatibilityLevel(value: unknown): value is CompatibilityLevel {
  return typeof value === 'string' && (COMPATIBILITY_LEVELS as readonly string[]).includes(value);
}

/** One earlier version of the subject a candidate is checked against. */
export interface VersionToCheck {
  version: number;
  type: Type;
}

/** One reason a candidate is incompatible. */
export interface CompatibilityProblem {
  /** The data path that breaks, e.g. `data.total`. */
  field: string;
  /** A sentence naming the version, the direction and the field. */
  message: string;
}

/**
 * Checks `candidate` against the earlier versions (oldest first) at `level`, with avsc's schema
 * resolution. BACKWARD: the candidate reads data written with the latest version; FORWARD: the
 * latest version reads data written with the candidate; FULL: both; `_TRANSITIVE`: against every
 * version, not only the latest. Returns one message per problem, naming the field; empty when
 * compatible.
 */
export function compatibilityProblems(
  level: CompatibilityLevel,
  candidate: Type,
  previous: readonly VersionToCheck[],
): string[] {
  return findCompatibilityProblems(level, candidate, previous).map((problem) => problem.message);
}

/** compatibilityProblems, each with the field it concerns (for answers that name it apart). */
export function findCompatibilityProblems(
  level: CompatibilityLevel,
  candidate: Type,
  previous: readonly VersionToCheck[],
): CompatibilityProblem[] {
  if (level === 'NONE' || previous.length === 0) return [];
  const against = level.endsWith('_TRANSITIVE') ? previous : previous.slice(-1);
  const backward = level.startsWith('BACKWARD') || level.startsWith('FULL');
  const forward = level.startsWith('FORWARD') || level.startsWith('FULL');
  const problems: CompatibilityProblem[] = [];
  for (const { version, type } of [...against].reverse()) {
    if (backward) {
      const problem = readFieldProblem(candidate, type);
      if (problem !== undefined)
        problems.push({
          field: problem.field,
          message: `the new schema cannot read data written with version ${version}: ${problem.message}`,
        });
    }
    if (forward) {
      const problem = readFieldProblem(type, candidate);
      if (problem !== undefined)
        problems.push({
          field: problem.field,
          message: `version ${version} cannot read data written with the new schema: ${problem.message}`,
        });
    }
  }
  return problems;
}

/** Why `reader` cannot read data written with `writer`, naming the field; undefined when it can. */
export function readProblem(reader: Type, writer: Type): string | undefined {
  return readFieldProblem(reader, writer)?.message;
}

function readFieldProblem(reader: Type, writer: Type): CompatibilityProblem | undefined {
  const error = resolveError(reader, writer);
  return error === undefined ? undefined : locate(reader, writer, 'data', error);
}

function resolveError(reader: Type, writer: Type): Error | undefined {
  try {
    reader.createResolver(writer);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** Walks both schemas to the first field whose types do not resolve, for a message that names it. */
function locate(reader: Type, writer: Type, path: string, error: Error): CompatibilityProblem {
  const at = (field: string, message: string) => ({ field, message });
  const r = underlying(reader);
  const w = underlying(writer);
  if (r instanceof avro.types.RecordType && w instanceof avro.types.RecordType) {
    if (r.name !== w.name && !(r.aliases ?? []).includes(w.name ?? '')) {
      return at(
        path,
        `${path}: record ${w.name} cannot be read as ${r.name} (the names differ and no alias matches)`,
      );
    }
    for (const field of r.fields) {
      const written = w.field(field.name) ?? field.aliases.map((alias) => w.field(alias)).find(Boolean);
      if (written === undefined) {
        if (field.defaultValue() === undefined)
          return at(
            `${path}.${field.name}`,
            `${path}.${field.name} is required by the reader but missing from the writer's schema, and has no default`,
          );
        continue;
      }
      const fieldError = resolveError(field.type, written.type);
      if (fieldError !== undefined)
        return locate(field.type, written.type, `${path}.${field.name}`, fieldError);
    }
  } else if (r instanceof avro.types.ArrayType && w instanceof avro.types.ArrayType) {
    return locate(r.itemsType, w.itemsType, `${path}[]`, error);
  } else if (r instanceof avro.types.MapType && w instanceof avro.types.MapType) {
    return locate(r.valuesType as Type, w.valuesType as Type, `${path}.*`, error);
  } else if (r instanceof avro.types.EnumType && w instanceof avro.types.EnumType) {
    const missing = w.symbols.filter((symbol) => !r.symbols.includes(symbol));
    if (missing.length > 0 && (r as { default?: string }).default === undefined)
      return at(path, `${path}: the reader's enum lacks symbol ${missing.join(', ')} and has no default`);
  } else if (!(r instanceof avro.types.UnwrappedUnionType) && !(w instanceof avro.types.UnwrappedUnionType)) {
    return at(path, `${path}: ${typeLabel(w)} cannot be read as ${typeLabel(r)}`);
  }
  return at(path, `${path}: ${error.message}`);
}

function underlying(type: Type): Type {
  return type instanceof avro.types.LogicalType ? type.underlyingType : type;
}

function typeLabel(type: Type): string {
  return type.name ?? type.typeName;
}
