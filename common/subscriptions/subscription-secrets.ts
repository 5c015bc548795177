import type { KafkaMessage } from '../kafka/index.js';
import { SluiceError } from '../errors.js';
import { generateWebhookSecret, isValidWebhookSecret } from '../webhook-signer.js';
import type { DecodedTopicRecord } from '../kafka/index.js';
import type { SecretsKeyring } from './secrets-keyring.js';
import {
  decodeSubscriptionRecord,
  encodeSubscription,
  type EncodedSubscriptionRecord,
} from './subscription-codec.js';
import type { Subscription } from './subscription.js';

type Secrets = Subscription['secrets'];
type MutableSecret = { secret: string; expiresAtMs: number | undefined };

export interface SubscriptionSecretsOptions {
  /** Encrypts signing secrets before they reach Kafka and decrypts them on reading. */
  keyring: SecretsKeyring;
  /** How long a rotated-out secret keeps signing beside the new one. */
  secretOverlapMs: number;
  /** Active secrets kept per subscription (the current one and rotated-out ones). */
  maxActiveSecrets: number;
}

/**
 * The signing secrets of subscriptions: the first one, rotation with an overlap, and the keyring
 * that keeps them encrypted on the topic. Plain secrets exist only in memory.
 */
export class SubscriptionSecrets {
  constructor(private readonly options: SubscriptionSecretsOptions) {}

  /** The secrets of a new subscription: `secret`, or a generated `whsec_` one. */
  initial(secret: string | undefined): MutableSecret[] {
    return [{ secret: secret ?? generateWebhookSecret(), expiresAtMs: undefined }];
  }

  /**
   * Puts a new secret first (`secret`, or a generated one); the one that was current keeps signing
   * beside it until `nowMs + secretOverlapMs`; at most `maxActiveSecrets` are kept.
   */
  rotated(current: Secrets, nowMs: number, secret: string | undefined): MutableSecret[] {
    const [newest, ...older] = activeSecrets(current, nowMs);
    const rotatedOut =
      newest === undefined
        ? []
        : [{ secret: newest.secret, expiresAtMs: nowMs + this.options.secretOverlapMs }];
    return [
      { secret: secret ?? generateWebhookSecret(), expiresAtMs: undefined },
      ...rotatedOut,
      ...older,
    ].slice(0, this.options.maxActiveSecrets);
  }

  /** The record that stores `subscription`, its secrets encrypted under the keyring's primary key. */
  encode(subscription: Subscription): EncodedSubscriptionRecord {
    return encodeSubscription(subscription, this.options.keyring);
  }

  /** Reads one record of the topic, decrypting its secrets; an unreadable one has a `problem`. */
  decode(message: KafkaMessage): DecodedTopicRecord<Subscription> {
    const decoded = decodeSubscriptionRecord(message.key, message.value, this.options.keyring);
    switch (decoded.kind) {
      case 'upsert':
        return { key: decoded.subscription.id, value: decoded.subscription };
      case 'delete':
        return { key: decoded.id, value: undefined };
      case 'invalid':
        // The newest record of this id is unreadable: serving an older version could deliver to a
        // URL or with a secret the owner replaced, so the subscription leaves the view.
        return {
          key: decoded.id,
          value: undefined,
          problem: { reason: decoded.reason, message: decoded.message },
        };
    }
  }
}

/** Throws 422 SLUICE_INVALID_SUBSCRIPTION unless `secret` is absent or a valid `whsec_` secret. */
export function assertRotationSecret(secret: string | undefined): void {
  if (secret !== undefined && !isValidWebhookSecret(secret)) {
    throw new SluiceError(
      'SLUICE_INVALID_SUBSCRIPTION',
      'secret must be whsec_ followed by the base64 of 24 to 64 random bytes',
      {
        details: { errors: [{ field: 'secret', message: 'not a valid whsec_ secret' }] },
      },
    );
  }
}

/** The secrets still signing at `nowMs`, newest first, as fresh objects. */
export function activeSecrets(secrets: Secrets, nowMs: number): MutableSecret[] {
  return secrets.filter((s) => s.expiresAtMs === undefined || s.expiresAtMs > nowMs).map((s) => ({ ...s }));
}
