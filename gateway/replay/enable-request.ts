import { formatDurationMs } from '../../common/duration.js';
import { SluiceError } from '../../common/errors.js';
import type { Subscription } from '../../common/subscriptions/subscription.js';

/** A checked `POST /v1/subscriptions/{id}/enable` body. */
export interface EnableRequest {
  /** Replay what the subscription missed while disabled: the window [disabledAt, now). */
  recover: boolean;
}

/** The window a recovery replays, `from` inclusive, `to` exclusive, in ms. */
export interface RecoveryWindow {
  fromMs: number;
  toMs: number;
}

/**
 * Checks an enable body: none, `{}` or `{"recover": true|false}`; anything else is 422
 * SLUICE_INVALID_SUBSCRIPTION naming the field.
 */
export function validateEnableRequest(raw: unknown): EnableRequest | SluiceError {
  if (raw === undefined) return { recover: false };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return refusal('SLUICE_INVALID_SUBSCRIPTION', [
      { field: '', message: 'the request body must be a JSON object such as {"recover":true}' },
    ]);
  }
  const body = raw as Record<string, unknown>;
  const problems = Object.keys(body)
    .filter((field) => field !== 'recover')
    .map((field) => ({ field, message: `unknown field ${field}` }));
  if (body.recover !== undefined && typeof body.recover !== 'boolean') {
    problems.push({
      field: 'recover',
      message: `recover must be true or false, got ${JSON.stringify(body.recover)}`,
    });
  }
  if (problems.length > 0) return refusal('SLUICE_INVALID_SUBSCRIPTION', problems);
  return { recover: body.recover === true };
}

/**
 * The window a recovery of `subscription` replays, or 422 SLUICE_RECOVERY_REFUSED when there is
 * none to replay: it is not disabled, it carries no `disabledAt` (disabled before Sluice recorded
 * it), or `disabledAt` lies past the events topic's retention (the start of the window is gone:
 * replay what is left with `POST /v1/subscriptions/{id}/replay`).
 */
export function recoveryWindow(
  subscription: Subscription,
  nowMs: number,
  eventsRetentionMs: number,
): RecoveryWindow | SluiceError {
  if (subscription.enabled) {
    return refusal('SLUICE_RECOVERY_REFUSED', [
      {
        field: 'recover',
        message: `subscription ${subscription.id} is not disabled: there is nothing to recover`,
      },
    ]);
  }
  const fromMs = subscription.disabledAt === undefined ? Number.NaN : Date.parse(subscription.disabledAt);
  if (!Number.isFinite(fromMs)) {
    return refusal('SLUICE_RECOVERY_REFUSED', [
      {
        field: 'recover',
        message: `subscription ${subscription.id} has no disabledAt (disabled before Sluice recorded it): enable it, then replay a window with POST /v1/subscriptions/${subscription.id}/replay`,
      },
    ]);
  }
  const earliestMs = nowMs - eventsRetentionMs;
  if (fromMs < earliestMs) {
    return refusal('SLUICE_RECOVERY_REFUSED', [
      {
        field: 'recover',
        message: `subscription ${subscription.id} was disabled at ${subscription.disabledAt}, past the events topic's retention (${formatDurationMs(eventsRetentionMs)}): events from then are gone; enable it, then replay from ${new Date(earliestMs).toISOString()} with POST /v1/subscriptions/${subscription.id}/replay`,
      },
    ]);
  }
  return { fromMs: Math.min(fromMs, nowMs), toMs: nowMs };
}

function refusal(
  code: 'SLUICE_INVALID_SUBSCRIPTION' | 'SLUICE_RECOVERY_REFUSED',
  problems: Array<{ field: string; message: string }>,
): SluiceError {
  const summary = problems.map((problem) => `${problem.field}: ${problem.message}`).join('; ');
  const prefix = code === 'SLUICE_RECOVERY_REFUSED' ? 'recovery refused' : 'invalid enable request';
  return new SluiceError(code, `${prefix}: ${summary}`, { details: { errors: problems } });
}
