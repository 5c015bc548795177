import { SluiceError } from '../../common/errors.js';
import type { EventPublisher, PublishOutcome } from '../publish/event-publisher.js';
import type { IdempotencyStore } from './idempotency-store.js';
import type { ParsedItem } from './parse-request.js';
import { prepareEvent, type PrepareContext, type PreparedEvent } from './prepare-event.js';

/** One event's answer, in request order. */
export interface ItemResult {
  index: number;
  id: string | undefined;
  /** 202 accepted (or accepted before: `duplicate`), else the error's status. */
  status: number;
  duplicate: boolean;
  error: SluiceError | undefined;
}

export interface IngestContext extends PrepareContext {
  idempotency: IdempotencyStore;
  publisher: EventPublisher;
  onDuplicate: () => void;
  /** Called once per event type and request: a batch counts its events in one step. */
  onAccepted: (type: string, count: number) => void;
  onRejected: (code: string) => void;
}

const accepted = (index: number, id: string, duplicate: boolean): ItemResult => ({
  index,
  id,
  status: 202,
  duplicate,
  error: undefined,
});

const rejected = (index: number, id: string | undefined, error: SluiceError): ItemResult => ({
  index,
  id,
  status: error.status,
  duplicate: false,
  error,
});

/** Events validated and encoded between two yields to the event loop (~3 ms of work). */
const prepareSliceEvents = 100;

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Validates, deduplicates and publishes the items of one request. Invalid items never reach
 * Kafka; valid ones are written even when others fail. Throws SLUICE_KAFKA_UNAVAILABLE when
 * Kafka did not acknowledge in time: the whole request is then answered 503.
 */
export async function ingestEvents(
  items: readonly ParsedItem[],
  context: IngestContext,
): Promise<ItemResult[]> {
  const results: Array<ItemResult | undefined> = new Array(items.length);
  const firstIndexOfId = new Map<string, number>();
  // `claimed` is set once Redis said this request owns the id (generated ids need no claim).
  const toClaim: Array<{ index: number; event: PreparedEvent; claimed: boolean }> = [];

  for (let index = 0; index < items.length; index++) {
    // A big batch is validated and encoded in slices, so single events from other producers are
    // not stuck behind it (and event-loop delay reflects load, not one batch's size).
    if (index > 0 && index % prepareSliceEvents === 0) await yieldToEventLoop();
    const item = items[index]!;
    if (!item.ok) {
      results[index] = rejected(index, undefined, item.error);
      continue;
    }
    const prepared = prepareEvent(item.event, context);
    if (!prepared.ok) {
      results[index] = rejected(index, prepared.id, prepared.error);
      continue;
    }
    // The same id twice in one request is one event: the repeat shares the first's answer.
    if (firstIndexOfId.has(prepared.event.id)) continue;
    firstIndexOfId.set(prepared.event.id, index);
    toClaim.push({ index, event: prepared.event, claimed: false });
  }

  // Only ids the producer chose can repeat; generated ones skip the Redis round trip.
  const withProducerIds = toClaim.filter((entry) => !entry.event.idGenerated);
  const claims = await context.idempotency.claim(
    context.producerId,
    withProducerIds.map((entry) => entry.event.id),
  );
  const toPublish = toClaim.filter((entry) => entry.event.idGenerated);
  claims.forEach((claim, position) => {
    const entry = withProducerIds[position]!;
    const { index, event } = entry;
    if (claim.kind === 'duplicate') {
      context.onDuplicate();
      results[index] = accepted(index, event.id, true);
    } else if (claim.kind === 'in-flight') {
      results[index] = rejected(
        index,
        event.id,
        new SluiceError(
          'SLUICE_IDEMPOTENCY_IN_FLIGHT',
          `an event with id ${event.id} is being written; retry shortly`,
          {
            retryAfterSeconds: 1,
          },
        ),
      );
    } else {
      entry.claimed = claim.kind === 'claimed';
      toPublish.push(entry);
    }
  });

  if (toPublish.length > 0) {
    const claimedIds = toPublish.filter((entry) => entry.claimed).map((entry) => entry.event.id);
    let settleIdempotency: Promise<void> = Promise.resolve();
    // The idempotency record follows what really happened, even after the caller's deadline:
    // written → remembered as accepted; never written → released so a retry goes through.
    const onOutcome = (outcome: PublishOutcome) => {
      settleIdempotency =
        outcome === 'acked'
          ? context.idempotency.complete(
              context.producerId,
              claimedIds.map((id) => ({ id, acceptedAtMs: context.nowMs() })),
            )
          : outcome === 'expired-unsent' || outcome === 'failed'
            ? context.idempotency.release(context.producerId, claimedIds)
            : Promise.resolve();
    };
    try {
      await context.publisher.publish(
        toPublish.map((entry) => entry.event.record),
        onOutcome,
      );
    } catch (error) {
      const code = error instanceof SluiceError ? error.code : 'SLUICE_INTERNAL';
      toPublish.forEach(() => context.onRejected(code));
      throw error;
    }
    // A repeat sent right after our 202 must find the completed record, not a pending claim.
    await settleIdempotency;
    const acceptedPerType = new Map<string, number>();
    for (const { index, event } of toPublish) {
      results[index] = accepted(index, event.id, false);
      acceptedPerType.set(event.type, (acceptedPerType.get(event.type) ?? 0) + 1);
    }
    for (const [type, count] of acceptedPerType) context.onAccepted(type, count);
  }

  // Fill in repeats of an id within the request from the first occurrence's answer.
  items.forEach((item, index) => {
    if (results[index] !== undefined || !item.ok) return;
    const id = item.event.id as string;
    const first = results[firstIndexOfId.get(id)!]!;
    results[index] = { ...first, index, duplicate: first.status === 202 };
  });
  for (const result of results) if (result?.error) context.onRejected(result.error.code);
  return results as ItemResult[];
}
