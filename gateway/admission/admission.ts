import { SluiceError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { AdmissionMetrics } from './admission-metrics.js';
import type { LoadShedder } from './load-shedder.js';
import type { RateLimitedKey } from './local-rate-limiter.js';
import type { Priority } from './priority.js';
import type { RateLimiter } from './rate-limiter.js';
import { rateLimitHeaders } from './ratelimit-headers.js';
import type { TakeResult } from './token-bucket.js';

/** Who asks to be admitted: the producer's bucket (id, rate, burst) and its priority class. */
export interface AdmissionKey extends RateLimitedKey {
  readonly priority: Priority;
}

/** Response header fields, names in lower case, as the HTTP layer writes them. */
export type AdmissionHeaders = Readonly<Record<string, string>>;

export interface Admitted {
  readonly admitted: true;
  /** `RateLimit-Policy` and `RateLimit` after the events were counted; none before the body. */
  readonly headers: AdmissionHeaders;
}

export interface Refused {
  readonly admitted: false;
  /**
   * What to answer: `SLUICE_OVERLOADED` (503, with the shedder's Retry-After and `reason`),
   * `SLUICE_RATE_LIMITED` (429) or `SLUICE_BATCH_TOO_LARGE` (413, the batch can never fit).
   */
  readonly error: SluiceError;
  /** The rate-limit header fields of a rate-limit refusal; none for a shed request. */
  readonly headers: AdmissionHeaders;
}

export type AdmissionOutcome = Admitted | Refused;

export interface AdmissionDeps {
  readonly shedder: LoadShedder;
  readonly rateLimiter: RateLimiter;
  readonly metrics: AdmissionMetrics;
  /** Refusals are logged at debug level, one line each. */
  readonly logger: Pick<Logger, 'debug'>;
}

/**
 * The admission protocol, the only one the HTTP layer calls. Each step counts its own metrics and
 * logs its own refusals, so every decision is counted exactly once whatever the caller does.
 */
export interface Admission {
  /**
   * Before the body is read (synchronous, so uWS body chunks are not missed): load shedding, then
   * a rate-limit precheck at cost 1 that refuses a key certainly over its limit without buffering
   * its body. Consumes nothing; admitted carries no headers.
   */
  admitHead(key: AdmissionKey): AdmissionOutcome;
  /**
   * Once the events are counted: takes `count` tokens. Synchronous whenever the limiter can decide
   * without Redis (local mode, Redis down, a refusal already known); a promise otherwise, which
   * never rejects. Admitted carries the rate-limit headers for the 2xx answer.
   */
  admitEvents(key: AdmissionKey, count: number): AdmissionOutcome | Promise<AdmissionOutcome>;
}

const noHeaders: AdmissionHeaders = Object.freeze({});
// The common answer before the body is one shared value: admitting allocates nothing.
const admittedHead: Admitted = Object.freeze({ admitted: true, headers: noHeaders });

export function createAdmission(deps: AdmissionDeps): Admission {
  const { shedder, rateLimiter, metrics, logger } = deps;

  function refuseForRate(key: AdmissionKey, result: TakeResult & { allowed: false }): Refused {
    logger.debug({ producer: key.id, reason: result.reason }, 'request rate limited');
    const headers = headerFields(result, key);
    const error =
      result.reason === 'burst-exceeded'
        ? new SluiceError(
            'SLUICE_BATCH_TOO_LARGE',
            `this API key admits at most ${key.burst} events at once`,
            {
              details: { burst: key.burst },
            },
          )
        : new SluiceError('SLUICE_RATE_LIMITED', `rate limit of ${key.ratePerSecond} events/s exceeded`, {
            retryAfterSeconds: Number(headers['retry-after'] ?? 1),
          });
    return { admitted: false, error, headers };
  }

  function settle(key: AdmissionKey, result: TakeResult): AdmissionOutcome {
    metrics.recordRateLimit(key.priority, result, key);
    if (!result.allowed) return refuseForRate(key, result);
    metrics.admitted(key.priority);
    return { admitted: true, headers: headerFields(result, key) };
  }

  return {
    admitHead(key) {
      const decision = shedder.admit(key.priority);
      if (!decision.admit) {
        metrics.shed(key.priority, decision.reason);
        logger.debug({ producer: key.id, priority: key.priority, reason: decision.reason }, 'request shed');
        const error = new SluiceError(
          'SLUICE_OVERLOADED',
          `the gateway is shedding ${key.priority} traffic (${decision.reason})`,
          { retryAfterSeconds: decision.retryAfterSeconds, details: { reason: decision.reason } },
        );
        return { admitted: false, error, headers: noHeaders };
      }
      const certainRefusal = rateLimiter.precheck(key, 1);
      if (certainRefusal === undefined) return admittedHead;
      metrics.recordRateLimit(key.priority, certainRefusal, key);
      return refuseForRate(key, certainRefusal);
    },

    admitEvents(key, count) {
      const known = rateLimiter.takeSync(key, count);
      if (known !== undefined) return settle(key, known);
      return rateLimiter.take(key, count).then((result) => settle(key, result));
    },
  };
}

/** The rate-limit header fields in lower case, built directly (no intermediate entries). */
function headerFields(result: TakeResult, key: AdmissionKey): AdmissionHeaders {
  const fields = rateLimitHeaders(result, key);
  const retryAfter = fields['Retry-After'];
  return retryAfter === undefined
    ? { 'ratelimit-policy': fields['RateLimit-Policy'], ratelimit: fields.RateLimit }
    : {
        'ratelimit-policy': fields['RateLimit-Policy'],
        ratelimit: fields.RateLimit,
        'retry-after': retryAfter,
      };
}
