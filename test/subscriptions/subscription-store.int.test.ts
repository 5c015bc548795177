import { type Admin, createTopicsWithLeaders } from '../../common/kafka/index.js';
import { describe, expect, it, onTestFinished } from 'vitest';
import { isSluiceError } from '../../common/errors.js';
import { createLogger } from '../../common/logger.js';
import { createSsrfPolicy } from '../../common/ssrf-guard.js';
import {
  generateSecretsKey,
  parseSecretsKeys,
  SecretsKeyring,
} from '../../common/subscriptions/secrets-keyring.js';
import {
  createSubscriptionStore,
  type SubscriptionStore,
  type SubscriptionStoreOptions,
} from '../../common/subscriptions/subscription-store.js';
import { generateWebhookSecret } from '../../common/webhook-signer.js';
import { connectedAdmin, createTestTopic, readTopic, testKafka } from '../support/kafka-fixture.js';
import { uniqueName } from '../support/stack-env.js';

const logger = createLogger('test-subscriptions', process.env.SLUICE_LOG_LEVEL ?? 'warn');
const dayMs = 86_400_000;

function keyring(text: string): SecretsKeyring {
  const parsed = parseSecretsKeys(text);
  if (!(parsed instanceof SecretsKeyring)) throw new Error(parsed.problems.join('; '));
  return parsed;
}

/** A fresh compacted one-partition topic, like `sluice topics ensure` makes; deleted afterwards. */
async function createSubscriptionsTopic(admin: Admin): Promise<string> {
  const topic = uniqueName('subscriptions');
  await createTopicsWithLeaders(admin, [
    {
      topic,
      numPartitions: 1,
      replicationFactor: 1,
      configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
    },
  ]);
  onTestFinished(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  });
  return topic;
}

async function startStore(
  topic: string,
  ring: SecretsKeyring,
  options: Partial<SubscriptionStoreOptions> = {},
): Promise<SubscriptionStore> {
  const store = createSubscriptionStore({
    kafka: testKafka(),
    topic,
    keyring: ring,
    ssrfPolicy: createSsrfPolicy(),
    logger,
    ...options,
  });
  onTestFinished(() => store.stop());
  await store.start();
  return store;
}

/** Polls until `check` stops throwing; generous, since two cores are shared by the whole suite. */
async function eventually(check: () => void, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

const orders = { url: 'https://hooks.example.com/orders', eventTypes: ['order.*'] };

describe('subscription store (real Kafka)', () => {
  it('shows a change to its writer at once and to a second instance within seconds', async () => {
    const admin = await connectedAdmin();
    const topic = await createSubscriptionsTopic(admin);
    const ring = keyring(generateSecretsKey());
    const writer = await startStore(topic, ring);
    const reader = await startStore(topic, ring);

    const created = await writer.create({ ...orders, description: 'first' });
    expect(writer.get(created.id)).toEqual(created);
    expect(writer.matching('order.created', 'shop-eu', undefined)).toEqual([created]);
    await eventually(() => expect(reader.get(created.id)).toEqual(created));
    expect(reader.matching('order.created', 'any-producer', undefined)).toEqual([created]);
    expect(reader.matching('payment.succeeded', 'shop-eu', undefined)).toEqual([]);

    const updated = await writer.update(created.id, { description: 'second', producerIds: ['shop-eu'] });
    expect(writer.get(created.id)?.description).toBe('second');
    await eventually(() => expect(reader.get(created.id)).toEqual(updated));
    expect(reader.matching('order.created', 'shop-eu', undefined)).toEqual([updated]);
    expect(reader.matching('order.created', 'shop-us', undefined)).toEqual([]);

    // Writes work from any instance, not just the first.
    const disabled = (await reader.disable(created.id, 'gone'))?.subscription;
    expect(disabled).toMatchObject({
      enabled: false,
      disabledReason: 'gone',
      disabledAt: expect.any(String),
    });
    expect(reader.matching('order.created', 'shop-eu', undefined)).toEqual([]);
    await eventually(() => expect(writer.get(created.id)).toEqual(disabled));

    await writer.remove(created.id);
    expect(writer.get(created.id)).toBeUndefined();
    await eventually(() => expect(reader.get(created.id)).toBeUndefined());
    expect(reader.all()).toEqual([]);
  });

  it('rebuilds the same state from the topic in a new instance, deletes included', async () => {
    const admin = await connectedAdmin();
    const topic = await createSubscriptionsTopic(admin);
    const ring = keyring(generateSecretsKey());
    const first = await startStore(topic, ring);

    const kept = await first.create({
      ...orders,
      ordering: 'key',
      rateLimitPerSecond: 20,
      maxConcurrency: 4,
    });
    const removed = await first.create({ url: 'https://hooks.example.com/gone', eventTypes: ['payment.*'] });
    const changed = await first.create({ url: 'https://hooks.example.com/x', eventTypes: ['*'] });
    await first.update(changed.id, { enabled: false, eventTypes: ['refund.issued'] });
    await first.rotateSecret(kept.id);
    await first.remove(removed.id);
    const expected = first.all();
    expect(expected.map((s) => s.id).sort()).toEqual([kept.id, changed.id].sort());
    await first.stop();

    const second = await startStore(topic, ring);
    // start() resolves only once the topic was read to its end: no waiting needed.
    expect(second.all()).toEqual(expected);
    expect(second.get(removed.id)).toBeUndefined();
    expect(second.get(kept.id)?.secrets).toHaveLength(2);
    expect(second.get(changed.id)).toMatchObject({ enabled: false, disabledReason: 'manual' });
    expect(second.stats()).toMatchObject({ caughtUp: true, subscriptions: 2, unreadableRecords: 0 });
  });

  it('writes no secret readable in the raw Kafka records', async () => {
    const admin = await connectedAdmin();
    const topic = await createSubscriptionsTopic(admin);
    const store = await startStore(topic, keyring(generateSecretsKey('k7')));
    const chosen = generateWebhookSecret();
    const created = await store.create({ ...orders, secret: chosen });
    expect(created.secrets).toEqual([{ secret: chosen, expiresAtMs: undefined }]);
    const rotated = await store.rotateSecret(created.id);
    const generated = rotated.secrets[0]!.secret;
    expect(generated).toMatch(/^whsec_/);
    await store.remove(created.id);

    const records = await readTopic(topic, 3);
    expect(records.map((r) => r.key)).toEqual([created.id, created.id, created.id]);
    expect(records[2]!.value).toBeNull();
    for (const record of records.slice(0, 2)) {
      const text = record.value!.toString('utf8');
      for (const secret of [chosen, generated]) {
        expect(text).not.toContain(secret);
        expect(text).not.toContain(secret.slice('whsec_'.length));
      }
      expect(text).not.toContain('whsec_');
      const json = JSON.parse(text) as { secrets: Array<{ keyId: string; ciphertext: string }> };
      expect(json.secrets.every((s) => s.keyId === 'k7' && s.ciphertext.length > 0)).toBe(true);
      expect(record.headers['content-type']).toBe('application/vnd.sluice.subscription.v1+json');
    }
  });

  it('keeps the old secret beside the new one after a rotation until 24 h have passed', async () => {
    const admin = await connectedAdmin();
    const topic = await createSubscriptionsTopic(admin);
    const ring = keyring(generateSecretsKey());
    let nowMs = Date.parse('2030-01-01T00:00:00Z');
    const clock = { nowMs: () => nowMs };
    const writer = await startStore(topic, ring, clock);
    const reader = await startStore(topic, ring, clock);

    const created = await writer.create(orders);
    const oldSecret = created.secrets[0]!.secret;
    const rotated = await writer.rotateSecret(created.id, nowMs);
    const newSecret = rotated.secrets[0]!.secret;
    expect(newSecret).not.toBe(oldSecret);
    expect(rotated.secrets).toEqual([
      { secret: newSecret, expiresAtMs: undefined },
      { secret: oldSecret, expiresAtMs: nowMs + dayMs },
    ]);
    expect(writer.matching('order.created', 'p', undefined)[0]!.secrets.map((s) => s.secret)).toEqual([
      newSecret,
      oldSecret,
    ]);
    await eventually(() => expect(reader.get(created.id)).toEqual(rotated));

    nowMs += dayMs - 1;
    expect(reader.get(created.id)!.secrets).toHaveLength(2);
    nowMs += 1;
    // Expired secrets drop out by themselves, in every instance, without a write.
    for (const store of [writer, reader]) {
      expect(store.get(created.id)!.secrets).toEqual([{ secret: newSecret, expiresAtMs: undefined }]);
      expect(store.matching('order.created', 'p', undefined)[0]!.secrets).toHaveLength(1);
    }
    const restarted = await startStore(topic, ring, clock);
    expect(restarted.get(created.id)!.secrets).toEqual([{ secret: newSecret, expiresAtMs: undefined }]);
  });

  it('reads records written under an older key once a new key was put first', async () => {
    const admin = await connectedAdmin();
    const topic = await createSubscriptionsTopic(admin);
    const k1 = generateSecretsKey('k1');
    const before = await startStore(topic, keyring(k1));
    const created = await before.create(orders);
    await before.stop();

    const after = await startStore(topic, keyring(`${generateSecretsKey('k2')},${k1}`));
    expect(after.get(created.id)).toEqual(created);
    await after.update(created.id, { description: 'rewritten under k2' });
    const records = await readTopic(topic, 2);
    const keyIds = records.map((r) => JSON.parse(r.value!.toString('utf8')).secrets[0].keyId as string);
    expect(keyIds).toEqual(['k1', 'k2']);
  });

  it('skips a record it cannot read, and counts it, without stopping', async () => {
    const admin = await connectedAdmin();
    const topic = await createSubscriptionsTopic(admin);
    const ring = keyring(generateSecretsKey());
    const producer = testKafka().producer();
    await producer.connect();
    onTestFinished(() => producer.disconnect());
    await producer.send({ topic, messages: [{ key: 'sub_garbage', value: '{"v":1,"id":"sub_garbage"}' }] });
    // These stores log each unreadable record as an error, as they should; keep the test output clean.
    const quiet = { logger: createLogger('test-subscriptions', 'silent') };
    const foreign = await startStore(topic, keyring(generateSecretsKey()), quiet);
    await foreign.create(orders);

    const store = await startStore(topic, ring, quiet);
    expect(store.stats()).toMatchObject({ caughtUp: true, subscriptions: 0, unreadableRecords: 2 });
    const mine = await store.create(orders);
    expect(store.all()).toEqual([mine]);
  });

  it('creates a missing topic as compacted when given a spec, and refuses a topic that is not compacted', async () => {
    const admin = await connectedAdmin();
    const missing = uniqueName('subscriptions');
    onTestFinished(async () => {
      await admin.deleteTopics({ topics: [missing] }).catch(() => undefined);
    });
    const spec = {
      name: missing,
      numPartitions: 1,
      replicationFactor: 1,
      configs: { 'cleanup.policy': 'compact' },
    };
    const created = await startStore(missing, keyring(generateSecretsKey()), { createTopic: spec });
    expect(created.isCaughtUp()).toBe(true);
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 2, name: missing, configNames: ['cleanup.policy'] }],
    });
    expect(described.resources[0]!.configEntries[0]!.configValue).toBe('compact');

    const plain = await createTestTopic(admin, 1, 'subscriptions-delete');
    const error = await startStore(plain, keyring(generateSecretsKey())).catch((e: unknown) => e);
    expect(isSluiceError(error, 'SLUICE_CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(/cleanup\.policy=delete; it must be compact/);

    const absent = await startStore(uniqueName('absent'), keyring(generateSecretsKey())).catch(
      (e: unknown) => e,
    );
    expect(isSluiceError(absent, 'SLUICE_CONFIG_INVALID')).toBe(true);
    expect((absent as Error).message).toMatch(/does not exist; create it with `sluice topics ensure`/);
  });
});
