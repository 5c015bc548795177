import type { FieldProblem } from './subscription-input.js';
import { describeValue, isPlainObject } from '../json-values.js';

/**
 * A subscription's payload filter: a MongoDB-style query over the event as the worker sees it
 * (`FilterDocument`), restricted to the operators below. Stored as the JSON the caller sent, once
 * `parsePayloadFilter` accepted it; evaluated by `compilePayloadFilter` (payload-filter-matcher.ts).
 *
 *     {"data.totalMinor": {"$gt": 500}, "$or": [{"producer": "shop-eu"}, {"data.currency": "EUR"}]}
 *
 * Field paths start with `type`, `producer`, `tenant` (no deeper segments) or `data.` (the event's
 * data, dotted into records, maps and arrays, with MongoDB's array semantics: `data.items.sku`
 * matches when any item's sku does). A field's condition is a scalar (equality) or an object of
 * operators; top-level keys are field paths, `$and`, `$or` and `$not`.
 */
export type PayloadFilter = Readonly<Record<string, unknown>>;

/** What a filter is evaluated on: built once per event, only when a subscription has a filter. */
export interface FilterDocument {
  readonly type: string;
  readonly producer: string;
  /** Absent (not undefined) when the event names no tenant, so `{"tenant": {"$exists": false}}` holds. */
  readonly tenant?: string;
  /** The event's data, decoded from Avro to plain values. */
  readonly data: unknown;
}

/** Operators a field's condition may use. `$prefix` is Sluice's: a string that starts with the operand. */
export const fieldOperators = [
  '$eq',
  '$ne',
  '$in',
  '$nin',
  '$gt',
  '$gte',
  '$lt',
  '$lte',
  '$exists',
  '$prefix',
  '$not',
] as const;
export type FieldOperator = (typeof fieldOperators)[number];

/** Operators that combine whole filters (`$not` negates one filter, field-level `$not` one condition). */
export const logicalOperators = ['$and', '$or', '$not'] as const;

/** Roots a path may start with; every one but `data` is a single segment holding a string. */
export const filterRoots = ['type', 'producer', 'tenant', 'data'] as const;

/** Bounds of a filter, so one subscription cannot make every delivery of its events slow. */
export const payloadFilterLimits = {
  /** The filter as JSON text. */
  maxBytes: 8 * 1024,
  /** Operator uses (an implicit equality counts as one). */
  maxConditions: 50,
  /** Nesting of `$and` / `$or` / `$not` (and field-level `$not`). */
  maxDepth: 6,
  /** Values of one `$in` / `$nin`, and filters of one `$and` / `$or`. */
  maxListEntries: 100,
  maxPathChars: 200,
  maxPathSegments: 12,
  maxStringChars: 1000,
} as const;

/** The kinds of JSON value a field can hold or an operand can be (`bytes`: Avro bytes or fixed). */
export type ValueKind = 'string' | 'number' | 'boolean' | 'null' | 'object' | 'array' | 'bytes';
type ScalarKind = 'string' | 'number' | 'boolean' | 'null';

/** One operator use on one field, as found in a valid filter; what the schema check looks at. */
export interface FilterCondition {
  /** Where it is in the request, e.g. `filter.$or[1]["data.totalMinor"].$gt`. */
  field: string;
  /** The field path, e.g. `data.totalMinor`. */
  path: string;
  /** `$eq` for an implicit equality; field-level `$not` is not a condition, those inside it are. */
  operator: Exclude<FieldOperator, '$not'>;
  /** Kinds of the operand values (every `$in` entry); empty for `$exists`. */
  operandKinds: ScalarKind[];
}

export type ParsedFilter =
  { filter: PayloadFilter; conditions: FilterCondition[] } | { problems: FieldProblem[] };

const fieldOperatorSet: ReadonlySet<string> = new Set(fieldOperators);
const rootKinds: Readonly<Record<string, ValueKind[]>> = {
  type: ['string'],
  producer: ['string'],
  tenant: ['string'],
};
const segmentPattern = /^[A-Za-z0-9_-]+$/;

/**
 * Checks a filter's shape, operators, paths and operands, without looking at schemas (that is
 * `checkFilterFields`, payload-filter-fields.ts). Every problem names where it is (`field`) and,
 * for an operator outside the list, the operator; values are quoted only as far as a problem needs.
 */
export function parsePayloadFilter(raw: unknown, field = 'filter'): ParsedFilter {
  const problems: FieldProblem[] = [];
  if (!isPlainObject(raw) || Object.keys(raw).length === 0) {
    return {
      problems: [
        {
          field,
          message: `${field} must be a non-empty object such as {"data.totalMinor": {"$gt": 500}}, or null`,
        },
      ],
    };
  }
  const text = JSON.stringify(raw);
  if (Buffer.byteLength(text) > payloadFilterLimits.maxBytes) {
    return {
      problems: [
        { field, message: `${field} must be at most ${payloadFilterLimits.maxBytes} bytes of JSON` },
      ],
    };
  }
  const conditions: FilterCondition[] = [];
  checkFilter(raw, field, 1, { problems, conditions });
  if (conditions.length > payloadFilterLimits.maxConditions) {
    problems.push({
      field,
      message: `${field} may hold at most ${payloadFilterLimits.maxConditions} conditions, got ${conditions.length}`,
    });
  }
  if (problems.length > 0) return { problems };
  // A copy from the JSON text: the stored filter shares nothing with the caller's object.
  return { filter: JSON.parse(text) as PayloadFilter, conditions };
}

interface Found {
  problems: FieldProblem[];
  conditions: FilterCondition[];
}

/** A filter object: field paths and logical operators. */
function checkFilter(filter: Record<string, unknown>, at: string, depth: number, found: Found): void {
  if (depth > payloadFilterLimits.maxDepth) {
    found.problems.push({
      field: at,
      message: `filters may nest at most ${payloadFilterLimits.maxDepth} deep`,
    });
    return;
  }
  for (const [key, value] of Object.entries(filter)) {
    const where = `${at}${key.startsWith('$') ? `.${key}` : `[${JSON.stringify(key)}]`}`;
    if (key === '$and' || key === '$or') checkFilterList(key, value, where, depth, found);
    else if (key === '$not') {
      if (isPlainObject(value) && Object.keys(value).length > 0) checkFilter(value, where, depth + 1, found);
      else found.problems.push({ field: where, message: '$not must hold a non-empty filter object' });
    } else if (key.startsWith('$')) {
      found.problems.push({
        field: where,
        message: `${key} is not a supported operator here; a filter's keys are field paths or ${logicalOperators.join(', ')}`,
      });
    } else {
      const kinds = checkPath(key, where, found.problems);
      if (kinds !== false) checkCondition(key, kinds, value, where, depth, found);
    }
  }
}

function checkFilterList(operator: string, value: unknown, at: string, depth: number, found: Found): void {
  if (!Array.isArray(value) || value.length === 0 || value.length > payloadFilterLimits.maxListEntries) {
    found.problems.push({
      field: at,
      message: `${operator} must be an array of 1 to ${payloadFilterLimits.maxListEntries} filter objects`,
    });
    return;
  }
  value.forEach((entry: unknown, index) => {
    const where = `${at}[${index}]`;
    if (isPlainObject(entry) && Object.keys(entry).length > 0) checkFilter(entry, where, depth + 1, found);
    else
      found.problems.push({
        field: where,
        message: `each entry of ${operator} must be a non-empty filter object`,
      });
  });
}

/**
 * The kinds a root path holds (undefined for `data.…`, which only schemas know), or false when
 * the path is not one a filter may name.
 */
function checkPath(path: string, at: string, problems: FieldProblem[]): ValueKind[] | undefined | false {
  const segments = path.split('.');
  const [root] = segments;
  const bad = (message: string) => {
    problems.push({ field: at, message });
    return false as const;
  };
  if (
    path.length > payloadFilterLimits.maxPathChars ||
    segments.length > payloadFilterLimits.maxPathSegments
  ) {
    return bad(
      `a field path may have at most ${payloadFilterLimits.maxPathChars} characters and ${payloadFilterLimits.maxPathSegments} segments`,
    );
  }
  if (!(filterRoots as readonly string[]).includes(root ?? '')) {
    return bad(
      `${describeValue(path)} is not a field a filter can read: paths start with type, producer, tenant or data.`,
    );
  }
  if (root !== 'data') {
    return segments.length === 1
      ? rootKinds[root!]
      : bad(`${root} is a string: it has no field ${describeValue(path)}`);
  }
  if (segments.length === 1) return bad('name a field of the data, such as data.totalMinor');
  const badSegment = segments.slice(1).find((segment) => !segmentPattern.test(segment));
  if (badSegment !== undefined) {
    return bad(
      `${describeValue(path)} is not a field path: each segment after data. is a field name (letters, digits, _ or -) or an array index`,
    );
  }
  return undefined;
}

/** One field's condition: a scalar (equality) or an object of field operators. */
function checkCondition(
  path: string,
  kinds: ValueKind[] | undefined,
  condition: unknown,
  at: string,
  depth: number,
  found: Found,
): void {
  if (!isPlainObject(condition)) {
    const kind = scalarKind(condition);
    if (kind === undefined) {
      found.problems.push({
        field: at,
        message: `a condition is a string, number, true, false, null or an object of operators such as {"$in": [...]}, got ${describeValue(condition)}`,
      });
      return;
    }
    addCondition(path, kinds, '$eq', [kind], at, condition, found);
    return;
  }
  const operators = Object.keys(condition);
  if (operators.length === 0 || operators.some((key) => !key.startsWith('$'))) {
    found.problems.push({
      field: at,
      message: `an object condition holds operators only (${fieldOperators.join(', ')}); whole objects cannot be compared`,
    });
    return;
  }
  for (const operator of operators) {
    checkOperator(path, kinds, operator, condition[operator], `${at}.${operator}`, depth, found);
  }
}

function checkOperator(
  path: string,
  kinds: ValueKind[] | undefined,
  operator: string,
  operand: unknown,
  at: string,
  depth: number,
  found: Found,
): void {
  const problem = (message: string) => found.problems.push({ field: at, message });
  if (!fieldOperatorSet.has(operator)) {
    problem(`${operator} is not a supported operator; use one of ${fieldOperators.join(', ')}`);
    return;
  }
  switch (operator as FieldOperator) {
    case '$eq':
    case '$ne': {
      const kind = scalarKind(operand);
      if (kind === undefined)
        problem(`${operator} takes a string, number, true, false or null, got ${describeValue(operand)}`);
      else addCondition(path, kinds, operator as '$eq', [kind], at, operand, found);
      return;
    }
    case '$in':
    case '$nin': {
      const entries = Array.isArray(operand) ? operand.map(scalarKind) : [];
      if (
        !Array.isArray(operand) ||
        operand.length === 0 ||
        operand.length > payloadFilterLimits.maxListEntries ||
        entries.includes(undefined)
      ) {
        problem(
          `${operator} takes an array of 1 to ${payloadFilterLimits.maxListEntries} strings, numbers, true, false or null`,
        );
      } else {
        addCondition(path, kinds, operator as '$in', entries as ScalarKind[], at, operand, found);
      }
      return;
    }
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte': {
      const kind = scalarKind(operand);
      if (kind !== 'number' && kind !== 'string')
        problem(`${operator} compares with a number or a string, got ${describeValue(operand)}`);
      else addCondition(path, kinds, operator as '$gt', [kind], at, operand, found);
      return;
    }
    case '$prefix':
      if (typeof operand !== 'string' || operand.length === 0)
        problem(`$prefix takes a non-empty string, got ${describeValue(operand)}`);
      else addCondition(path, kinds, '$prefix', ['string'], at, operand, found);
      return;
    case '$exists':
      if (typeof operand !== 'boolean') problem(`$exists takes true or false, got ${describeValue(operand)}`);
      else addCondition(path, kinds, '$exists', [], at, operand, found);
      return;
    case '$not':
      if (depth >= payloadFilterLimits.maxDepth) {
        problem(`filters may nest at most ${payloadFilterLimits.maxDepth} deep`);
      } else if (!isPlainObject(operand) || Object.keys(operand).length === 0) {
        problem('$not on a field takes an object of operators, such as {"$gt": 500}');
      } else {
        checkCondition(path, kinds, operand, at, depth + 1, found);
      }
      return;
  }
}

function addCondition(
  path: string,
  kinds: ValueKind[] | undefined,
  operator: FilterCondition['operator'],
  operandKinds: ScalarKind[],
  at: string,
  operand: unknown,
  found: Found,
): void {
  const tooLong = (Array.isArray(operand) ? operand : [operand]).some(
    (value) => typeof value === 'string' && value.length > payloadFilterLimits.maxStringChars,
  );
  if (tooLong) {
    found.problems.push({
      field: at,
      message: `strings in a filter may have at most ${payloadFilterLimits.maxStringChars} characters`,
    });
    return;
  }
  const condition: FilterCondition = { field: at, path, operator, operandKinds };
  // type, producer and tenant are strings: checked here, with no schema needed.
  const mismatch = kinds === undefined ? undefined : operandMismatch(condition, kinds);
  if (mismatch !== undefined) found.problems.push({ field: at, message: `${path} ${mismatch}` });
  found.conditions.push(condition);
}

/**
 * Why a condition cannot hold on a field of these kinds (the rest of a sentence starting with
 * the path), or undefined when it can: comparisons need the operand's own kind, `$prefix` a
 * string, equality any kind the field has (null always: it also matches a missing field).
 */
export function operandMismatch(condition: FilterCondition, kinds: readonly ValueKind[]): string | undefined {
  const { operator, operandKinds } = condition;
  const held = kindList(kinds);
  if (operator === '$exists') return undefined;
  if (operator === '$prefix')
    return kinds.includes('string') ? undefined : `holds ${held}, and $prefix applies to strings`;
  const foreign = operandKinds.find((kind) => kind !== 'null' && !kinds.includes(kind));
  if (foreign === undefined) return undefined;
  return `holds ${held}, so ${operator} with ${article(foreign)} can never match`;
}

/** `a number or a string`, for messages. */
export function kindList(kinds: readonly ValueKind[]): string {
  const words = [...new Set(kinds)].map(article);
  return words.length <= 1 ? (words[0] ?? 'nothing') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)!}`;
}

function article(kind: ValueKind): string {
  switch (kind) {
    case 'null':
      return 'null';
    case 'boolean':
      return 'true or false';
    case 'bytes':
      return 'bytes';
    case 'array':
    case 'object':
      return `an ${kind}`;
    default:
      return `a ${kind}`;
  }
}

function scalarKind(value: unknown): ScalarKind | undefined {
  if (value === null) return 'null';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number' && Number.isFinite(value)) return 'number';
  return undefined;
}
