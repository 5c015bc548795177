import sift from 'sift';
import type { FieldOperator, FilterDocument, PayloadFilter } from './payload-filter.js';

/** Whether an event passes a subscription's filter. */
export type FilterMatcher = (document: FilterDocument) => boolean;

type Operations = NonNullable<NonNullable<Parameters<typeof sift.createQueryTester>[1]>['operations']>;

/** `$prefix`: Sluice's own operator, a string that starts with the operand (no regular expressions). */
const $prefix: Operations[string] = (prefix: string, ownerQuery, options) =>
  new sift.EqualsOperation(
    (value: unknown) => typeof value === 'string' && value.startsWith(prefix),
    ownerQuery,
    options,
  );

/**
 * The only operations sift is given: it knows no other (`$where`, `$regex`, `$elemMatch`… throw
 * "Unsupported operation"), so even a filter that bypassed `parsePayloadFilter` cannot run code
 * or a regular expression. MongoDB's semantics: equality and `$in` look into arrays, `$ne` and
 * `$nin` and `$not` hold for a missing field, comparisons only between values of one type.
 */
const operations: Record<FieldOperator | '$and' | '$or', Operations[string]> = {
  $eq: sift.$eq,
  $ne: sift.$ne,
  $in: sift.$in,
  $nin: sift.$nin,
  $gt: sift.$gt,
  $gte: sift.$gte,
  $lt: sift.$lt,
  $lte: sift.$lte,
  $exists: sift.$exists,
  $prefix,
  $not: sift.$not,
  $and: sift.$and,
  $or: sift.$or,
};

/**
 * Compiles a filter once (per stored subscription, never per event) into a predicate. The filter
 * must have passed `parsePayloadFilter`; one that did not throws here rather than run unchecked.
 */
export function compilePayloadFilter(filter: PayloadFilter): FilterMatcher {
  return sift.createQueryTester<FilterDocument>(filter as sift.Query<FilterDocument>, { operations });
}
