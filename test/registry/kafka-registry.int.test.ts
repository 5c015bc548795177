import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createLogger } from '../../common/logger.js';
import { RegistryError } from '../../schemas/registry/registry-error.js';
import { KafkaSchemaRegistry } from '../../schemas/registry/schema-registry.js';
import { readTopic, testKafka } from '../support/kafka-fixture.js';
import { createRegistryTopic } from '../support/registry-topic.js';

const logger = createLogger('test-registry', 'warn');

async function startRegistry(topic: string): Promise<KafkaSchemaRegistry> {
  const registry = new KafkaSchemaRegistry({ kafka: testKafka(), topic, logger, maxWaitTimeMs: 100 });
  await registry.start();
  onTestFinished(() => registry.stop());
  return registry;
}

function schemaFor(index: number, extraField = false): string {
  return JSON.stringify({
    type: 'record',
    name: `Thing${index}`,
    namespace: 'dev.sluice.test',
    fields: [
      { name: 'id', type: 'string' },
      ...(extraField ? [{ name: 'note', type: 'string', default: '' }] : []),
    ],
  });
}

/** subject → id, as a registry holds it. */
function idsOf(registry: KafkaSchemaRegistry): Record<string, number> {
  return Object.fromEntries(
    registry.state.subjects().map((subject) => [subject, registry.state.subjectVersions(subject)![0]!.id]),
  );
}

describe('the registry stored in Kafka', () => {
  it('gives 50 schemas registered at once on two processes unique ids both agree on, kept over restart and compaction', async () => {
    const topic = await createRegistryTopic({ compactEagerly: true });
    const [a, b] = await Promise.all([startRegistry(topic), startRegistry(topic)]);
    const subjects = Array.from({ length: 50 }, (_, i) => `test.thing${i}`);
    // Both register every schema, in opposite orders: each race is lost by one of them.
    const [fromA, fromB] = await Promise.all([
      Promise.all(subjects.map((subject, i) => a.register({ subject, schema: schemaFor(i) }))),
      Promise.all(
        [...subjects].reverse().map((subject, j) => b.register({ subject, schema: schemaFor(49 - j) })),
      ),
    ]);
    const answeredA = Object.fromEntries(subjects.map((s, i) => [s, fromA[i]!.id]));
    const answeredB = Object.fromEntries([...subjects].reverse().map((s, j) => [s, fromB[j]!.id]));
    expect(answeredB).toEqual(answeredA);
    expect(new Set(Object.values(answeredA)).size).toBe(50);
    // Each schema was created once: one of the two calls created it, the other found it.
    expect(fromA.filter((r) => r.created).length + fromB.filter((r) => r.created).length).toBe(50);
    await b.resolveId(Math.max(...Object.values(answeredA)));
    expect(idsOf(a)).toEqual(answeredA);
    expect(idsOf(b)).toEqual(answeredA);

    // Let the cleaner compact the topic: a record on a new segment rolls the old one.
    const before = await readTopic(topic, 1, { settleMs: 500 });
    await sleep(200);
    await a.setCompatibility(undefined, 'BACKWARD');
    let after = before;
    for (let waited = 0; waited < 60_000 && after.length >= before.length; waited += 2000) {
      await sleep(2000);
      await a.setCompatibility(undefined, 'BACKWARD');
      after = await readTopic(topic, 1, { settleMs: 300 });
    }
    const voidRecords = before.filter((r) => r.value === null).length;
    expect(voidRecords, 'no race was lost, so nothing could be compacted').toBeGreaterThan(0);
    expect(after.length).toBeLessThan(before.length);

    await Promise.all([a.stop(), b.stop()]);
    const [c, d] = await Promise.all([startRegistry(topic), startRegistry(topic)]);
    expect(idsOf(c)).toEqual(answeredA);
    expect(idsOf(d)).toEqual(answeredA);
    // A new schema after all that still gets an id never used before.
    const next = await c.register({ subject: 'test.late', schema: schemaFor(99) });
    expect(Object.values(answeredA)).not.toContain(next.id);
  });

  it('answers the existing id for the same schema, refuses an incompatible version, accepts a compatible one', async () => {
    const registry = await startRegistry(await createRegistryTopic({ compactEagerly: true }));
    const first = await registry.register({ subject: 'test.order', schema: schemaFor(1) });
    // Same schema, other key order and spacing: the same id, nothing written.
    const again = await registry.register({
      subject: 'test.order',
      schema: JSON.parse(
        JSON.stringify({
          namespace: 'dev.sluice.test',
          fields: [{ type: 'string', name: 'id' }],
          name: 'Thing1',
          type: 'record',
        }),
      ),
    });
    expect(again).toEqual({ id: first.id, version: 1, created: false });

    const incompatible = JSON.stringify({
      type: 'record',
      name: 'Thing1',
      namespace: 'dev.sluice.test',
      fields: [
        { name: 'id', type: 'string' },
        { name: 'total', type: 'long' },
      ],
    });
    const refused = await registry
      .register({ subject: 'test.order', schema: incompatible })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RegistryError);
    expect((refused as RegistryError).errorCode).toBe(409);
    expect((refused as RegistryError).message).toContain('data.total');

    const v2 = await registry.register({ subject: 'test.order', schema: schemaFor(1, true) });
    expect(v2).toMatchObject({ version: 2, created: true });
    expect(v2.id).not.toBe(first.id);
    expect(registry.state.latest('test.order')?.id).toBe(v2.id);
  });

  it('deprecates a type: no latest any more, its ids still resolve', async () => {
    const registry = await startRegistry(await createRegistryTopic({ compactEagerly: true }));
    const { id } = await registry.register({ subject: 'test.gone', schema: schemaFor(7) });
    expect(await registry.delete('test.gone')).toEqual([1]);
    expect(registry.state.latest('test.gone')).toBeUndefined();
    expect(registry.state.deprecated('test.gone')).toBe(true);
    expect(registry.state.byId(id)?.type).toBe('test.gone');
  });
});
