import type { Logger } from '../logger.js';
import type { CompactedTopicView, TopicChange } from '../kafka/index.js';
import type { SubscriptionIndex } from './subscription-index.js';
import type { Subscription } from './subscription.js';

/**
 * The change feed of the subscriptions: every change the topic view applies (read from the topic,
 * or written by this process and applied on Kafka's acknowledgement, so the writer sees it at
 * once) reaches the index; unreadable records are logged and counted.
 */
export class SubscriptionChanges {
  private unreadable = 0;

  constructor(
    view: CompactedTopicView<Subscription>,
    private readonly index: SubscriptionIndex,
    private readonly logger: Logger,
  ) {
    view.onChange((change) => this.apply(change));
  }

  /** Records skipped because they could not be read (undecryptable, malformed). */
  get unreadableRecords(): number {
    return this.unreadable;
  }

  private apply(change: TopicChange<Subscription>): void {
    const { key, value, problem } = change;
    if (value !== undefined) {
      this.index.upsert(value);
    } else if (key !== undefined) {
      this.index.delete(key);
    }
    if (problem !== undefined) {
      this.unreadable += 1;
      this.logger.error(
        {
          subscriptionId: key,
          partition: change.partition,
          offset: change.offset.toString(),
          reason: problem.reason,
        },
        `unreadable subscription record skipped: ${problem.message}`,
      );
    }
  }
}
