import { operandMismatch, type FilterCondition, type ValueKind } from './payload-filter.js';
import type { FieldProblem } from './subscription-input.js';

/**
 * What the schema registry says about the fields a filter names: implemented over the live
 * catalog by `createFilterFieldTypes` (schemas/avro-field-path.ts), so a type registered a moment
 * ago counts at once.
 */
export interface FilterFieldTypes {
  /** The registered event types the globs match, sorted. */
  typesMatching(eventTypes: readonly string[]): string[];
  /**
   * The kinds of value the data path `segments` (after `data.`) holds in any version of `type`
   * (an array adds its items' kinds: equality looks into arrays); undefined when none has it.
   */
  dataFieldKinds(type: string, segments: readonly string[]): readonly ValueKind[] | undefined;
}

/** Types named in one message before "and N more". */
const maxTypesNamed = 5;

/**
 * Checks each `data.…` path of a filter against the schemas of the event types the subscription
 * matches: a path must exist in at least one version of at least one of them (events of the
 * others lack the field, so the filter simply does not match them, as MongoDB would), and each
 * operand must be of a kind the field holds there. One problem per unknown path, naming it.
 */
export function checkFilterFields(
  conditions: readonly FilterCondition[],
  eventTypes: readonly string[],
  fieldTypes: FilterFieldTypes,
  filterField = 'filter',
): FieldProblem[] {
  const dataConditions = conditions.filter((condition) => condition.path.startsWith('data.'));
  if (dataConditions.length === 0) return [];
  const types = fieldTypes.typesMatching(eventTypes);
  if (types.length === 0) {
    return [
      {
        field: filterField,
        message: `no registered event type matches eventTypes (${eventTypes.join(', ')}), so the data fields the filter names cannot be checked; register the type first`,
      },
    ];
  }
  const problems: FieldProblem[] = [];
  const byPath = new Map<string, FilterCondition[]>();
  for (const condition of dataConditions) {
    byPath.set(condition.path, [...(byPath.get(condition.path) ?? []), condition]);
  }
  for (const [path, uses] of byPath) {
    const segments = path.split('.').slice(1);
    const holding: string[] = [];
    const kinds = new Set<ValueKind>();
    for (const type of types) {
      const found = fieldTypes.dataFieldKinds(type, segments);
      if (found === undefined) continue;
      holding.push(type);
      for (const kind of found) kinds.add(kind);
    }
    if (holding.length === 0) {
      problems.push({
        field: uses[0]!.field,
        message:
          types.length === 1
            ? `${path} is not a field of ${types[0]!} in any of its versions`
            : `${path} is not a field of any event type eventTypes match (${nameTypes(types)})`,
      });
      continue;
    }
    for (const use of uses) {
      const mismatch = operandMismatch(use, [...kinds]);
      if (mismatch !== undefined) {
        problems.push({ field: use.field, message: `${path} ${mismatch} (in ${nameTypes(holding)})` });
      }
    }
  }
  return problems;
}

function nameTypes(types: readonly string[]): string {
  if (types.length <= maxTypesNamed) return types.join(', ');
  return `${types.slice(0, maxTypesNamed).join(', ')} and ${types.length - maxTypesNamed} more`;
}
