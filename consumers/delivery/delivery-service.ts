import { recordPosition, type ConsumedRecord } from '../../common/kafka/index.js';
import { parseRetryRecord, replayIdHeader, type DeadLetterReason } from '../../common/retry/retry-records.js';
import { tenantMatches } from '../../common/subscriptions/subscription-matcher.js';
import type { Subscription } from '../../common/subscriptions/subscription.js';
import { tenantHeader } from '../../common/tenant-id.js';
import { decodeEvent, type SchemaCatalog } from '../../schemas/index.js';
import {
  createJobDelivery,
  type DecodedEvent,
  type DeliveryJob,
  type JobDeliveryDeps,
} from './job-delivery.js';
import type { DispatchSignals } from './record-task.js';
import { buildWebhookPayload } from './webhook-payload.js';

export interface DeliveryServiceDeps extends JobDeliveryDeps {
  catalog: Pick<SchemaCatalog, 'byId'>;
  /**
   * Reads the registry again for a schema id the catalog does not hold: a record can name an id
   * registered a moment ago that this worker has not read yet. Throws when the registry cannot be
   * read (the record is then not resolved, never dead-lettered for it).
   */
  resolveSchemaId?: (id: number) => Promise<unknown>;
}

export interface DeliveryService {
  /** Fans one events-topic record out to every matching subscription; resolves when all are resolved. */
  handleEventRecord(record: ConsumedRecord, signals: DispatchSignals): Promise<void>;
  /** Makes the next attempt of one retry-tier record (already due) for its one subscription. */
  handleRetryRecord(record: ConsumedRecord, signals: DispatchSignals): Promise<void>;
}

/**
 * Turns consumed records into delivery jobs: decodes the event once, matches it to subscriptions
 * (or reads a retry record's one subscription), dead-letters poison records, and hands each job to
 * the job delivery (job-delivery.ts).
 */
export function createDeliveryService(deps: DeliveryServiceDeps): DeliveryService {
  const nowMs = deps.nowMs ?? Date.now;
  const { metrics, logger, router } = deps;
  const jobs = createJobDelivery(deps);

  function decode(
    record: ConsumedRecord,
  ):
    | { ok: true; event: DecodedEvent }
    | { ok: false; reason: DeadLetterReason; message: string; schemaId?: number } {
    const id = record.headers.ce_id;
    const type = record.headers.ce_type;
    if (!id || !type || record.value === null) {
      return { ok: false, reason: 'missing-headers', message: 'the record lacks ce_id, ce_type or a value' };
    }
    const decoded = decodeEvent(deps.catalog, record.value);
    if (!decoded.ok) return decoded;
    const time = record.headers.ce_time;
    const parsedTimeMs = time === undefined ? Number.NaN : Date.parse(time);
    const eventTimeMs = Number.isFinite(parsedTimeMs) ? parsedTimeMs : record.timestampMs;
    const timestamp = time ?? new Date(record.timestampMs).toISOString();
    return {
      ok: true,
      event: {
        id,
        type,
        producerId: record.headers.sluice_producer ?? '',
        tenant: record.headers[tenantHeader] || undefined,
        eventTimeMs,
        ...buildWebhookPayload({ id, type, time: timestamp, data: decoded.data }, decoded.schema.type),
        key: record.key?.toString() ?? '',
        data: decoded.data,
        replayId: record.headers[replayIdHeader] || undefined,
      },
    };
  }

  async function decodeRecord(record: ConsumedRecord): Promise<ReturnType<typeof decode>> {
    const decoded = decode(record);
    if (decoded.ok || decoded.reason !== 'unknown-schema-id' || decoded.schemaId === undefined)
      return decoded;
    if (deps.resolveSchemaId === undefined) return decoded;
    await deps.resolveSchemaId(decoded.schemaId);
    return decode(record);
  }

  async function settleAll(deliveries: Array<Promise<void>>): Promise<void> {
    const results = await Promise.allSettled(deliveries);
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  return {
    async handleEventRecord(record, signals) {
      const decoded = await decodeRecord(record);
      const origin = recordPosition(record);
      if (!decoded.ok) {
        metrics.records.inc({ consumer: 'events', result: 'poison' });
        await router.deadLetter(
          record,
          decoded.reason,
          {
            subscriptionId: undefined,
            attempts: 0,
            lastStatus: undefined,
            lastError: decoded.message,
            origin,
          },
          signals.wait,
        );
        return;
      }
      const { event } = decoded;
      const matched = deps.view.matching(event.type, event.producerId, event.tenant);
      const subscriptions = jobs.gone.size === 0 ? matched : matched.filter((s) => !jobs.gone.has(s.id));
      metrics.records.inc({ consumer: 'events', result: subscriptions.length > 0 ? 'matched' : 'unmatched' });
      const firstAttemptAtMs = nowMs();
      // Turns for `ordering: key` are taken here, synchronously and in offset order.
      const start = (subscription: Subscription) => {
        const job: DeliveryJob = {
          event,
          source: record,
          subscription,
          attempt: 1,
          firstAttemptAtMs,
          origin,
          fromTierIndex: -1,
          lastStatus: undefined,
          lastError: undefined,
        };
        if (jobs.filteredOut(job)) return Promise.resolve();
        return jobs.deliver(job, signals, jobs.takeOrderTurn(subscription, event, signals));
      };
      // One match, the common case, needs no settle-all around it.
      if (subscriptions.length === 1) await start(subscriptions[0]!);
      else await settleAll(subscriptions.map(start));
    },

    async handleRetryRecord(record, signals) {
      const parsed = parseRetryRecord(record);
      const origin = parsed.ok ? parsed.state.origin : recordPosition(record);
      if (!parsed.ok) {
        metrics.records.inc({ consumer: 'retry', result: 'poison' });
        await router.deadLetter(
          record,
          'invalid-retry-record',
          {
            subscriptionId: undefined,
            attempts: 0,
            lastStatus: undefined,
            lastError: parsed.problem,
            origin,
          },
          signals.wait,
        );
        return;
      }
      const { state } = parsed;
      const decoded = await decodeRecord(record);
      if (!decoded.ok) {
        metrics.records.inc({ consumer: 'retry', result: 'poison' });
        await router.deadLetter(
          record,
          decoded.reason,
          {
            subscriptionId: state.subscriptionId,
            attempts: state.attempt - 1,
            lastStatus: state.lastStatus,
            lastError: decoded.message,
            origin,
          },
          signals.wait,
        );
        return;
      }
      const subscription = deps.view.get(state.subscriptionId);
      if (subscription === undefined) {
        metrics.records.inc({ consumer: 'retry', result: 'unmatched' });
        metrics.deliveries.inc({ subscription_id: state.subscriptionId, outcome: 'dropped' });
        logger.info(
          { subscriptionId: state.subscriptionId, eventId: decoded.event.id },
          'retry dropped: the subscription was deleted',
        );
        return;
      }
      // A subscription moved to another tenant since the event was matched (or a replay or resend
      // aimed at one) must not receive this tenant's event: tenants stay apart on every path.
      if (!tenantMatches(subscription.tenant, decoded.event.tenant)) {
        metrics.records.inc({ consumer: 'retry', result: 'unmatched' });
        metrics.deliveries.inc({ subscription_id: subscription.id, outcome: 'dropped' });
        logger.warn(
          { subscriptionId: subscription.id, eventId: decoded.event.id, tenant: decoded.event.tenant },
          'retry dropped: the subscription belongs to another tenant than the event',
        );
        return;
      }
      if (!subscription.enabled || jobs.gone.has(subscription.id)) {
        // Kept visible and replayable (`sluice dlq replay`) rather than dropped: the subscription
        // may be enabled again, and recovery replays only what was published after disabledAt.
        metrics.records.inc({ consumer: 'retry', result: 'unmatched' });
        await router.deadLetter(
          record,
          'subscription-disabled',
          {
            subscriptionId: subscription.id,
            attempts: state.attempt - 1,
            lastStatus: state.lastStatus,
            lastError: state.lastError,
            origin,
          },
          signals.wait,
        );
        metrics.deliveries.inc({ subscription_id: subscription.id, outcome: 'dead-lettered' });
        return;
      }
      metrics.records.inc({ consumer: 'retry', result: 'matched' });
      const job: DeliveryJob = {
        event: decoded.event,
        source: record,
        subscription,
        attempt: state.attempt,
        firstAttemptAtMs: state.firstAttemptAtMs,
        origin,
        fromTierIndex: router.tierIndexOf(record, state.attempt),
        lastStatus: state.lastStatus,
        lastError: state.lastError,
      };
      if (jobs.filteredOut(job)) return;
      // Taken before any await, in offset order: a key's records due together go one after another,
      // so the one behind sees the queue after the one before it is resolved instead of parking again.
      const orderTurn = jobs.takeOrderTurn(subscription, decoded.event, signals);
      await jobs.deliver(job, signals, orderTurn);
    },
  };
}
