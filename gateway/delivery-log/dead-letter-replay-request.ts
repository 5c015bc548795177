import { SluiceError } from '../../common/errors.js';
import type { DeadLetterSelection } from './delivery-log.js';
import { isDeadLetterId } from './log-query.js';

export interface DeadLetterReplayRequest {
  selection: DeadLetterSelection;
  dryRun: boolean;
}

/** Most ids one request may name. */
export const maxDeadLetterIds = 1000;
const fields = ['ids', 'subscription', 'reason', 'since', 'until', 'dryRun'];
const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * `POST /v1/dead-letters/replay`: `{ids?, subscription?, reason?, since?, until?, dryRun?}`. The
 * selection is every dead letter matching all the given fields (none: every dead letter). Every
 * bad field is reported at once (SLUICE_INVALID_REPLAY, `errors`).
 */
export function validateDeadLetterReplay(body: unknown): DeadLetterReplayRequest | SluiceError {
  const errors: Array<{ field: string; message: string }> = [];
  const fail = (field: string, message: string) => errors.push({ field, message });
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return new SluiceError('SLUICE_INVALID_REPLAY', 'the body must be a JSON object', {
      details: { errors: [{ field: '', message: 'must be an object' }] },
    });
  }
  const input = body as Record<string, unknown>;
  for (const name of Object.keys(input)) if (!fields.includes(name)) fail(name, 'unknown field');
  const selection: DeadLetterSelection = {};
  if (input.ids !== undefined) {
    const ids = input.ids;
    if (
      !Array.isArray(ids) ||
      ids.length === 0 ||
      ids.length > maxDeadLetterIds ||
      !ids.every((id) => typeof id === 'string' && isDeadLetterId(id))
    ) {
      fail('ids', `must be 1 to ${maxDeadLetterIds} dead-letter ids`);
    } else selection.ids = [...new Set(ids as string[])];
  }
  for (const [field, key] of [
    ['subscription', 'subscriptionId'],
    ['reason', 'reason'],
  ] as const) {
    const value = input[field];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value === '' || value.length > 200)
      fail(field, 'must be a non-empty string');
    else selection[key] = value;
  }
  for (const [field, key] of [
    ['since', 'sinceMs'],
    ['until', 'untilMs'],
  ] as const) {
    const value = input[field];
    if (value === undefined) continue;
    const ms = typeof value === 'string' && rfc3339.test(value) ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(ms)) fail(field, 'must be an RFC 3339 time such as 2026-03-01T12:00:00Z');
    else selection[key] = ms;
  }
  if (
    selection.sinceMs !== undefined &&
    selection.untilMs !== undefined &&
    selection.untilMs <= selection.sinceMs
  ) {
    fail('until', 'must be later than since');
  }
  if (input.dryRun !== undefined && typeof input.dryRun !== 'boolean') fail('dryRun', 'must be a boolean');
  if (errors.length > 0) {
    return new SluiceError(
      'SLUICE_INVALID_REPLAY',
      errors.map(({ field, message }) => `${field}: ${message}`).join('; '),
      { details: { errors } },
    );
  }
  return { selection, dryRun: input.dryRun === true };
}
