import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseBatch, parseSingleEvent, type ParsedItem } from '../../gateway/ingest/parse-request.js';
import { encodeEvent, loadSchemaCatalog } from '../../schemas/index.js';
import {
  batchFormats,
  batchRequest,
  catalogMix,
  createPayloadFactory,
  createPrng,
  eventTypes,
  flashSaleMix,
  hashInts,
  priorityClassOfType,
  singleEventRequest,
  singleFormats,
  type EventType,
  type IngestRequest,
  type SluiceEvent,
} from './payloads.js';

const catalog = loadSchemaCatalog();
// The gateway's rules for ids and keys (gateway/ingest/prepare-event.ts).
const gatewayIdPattern = /^[\x21-\x7e]{1,128}$/;
const maxKeyBytes = 1024;
const maxEventBytes = 256 * 1024;

function slots(vus: number, iterations: number, indexes = 1) {
  const all = [];
  for (let vu = 1; vu <= vus; vu++)
    for (let iteration = 0; iteration < iterations; iteration++)
      for (let index = 0; index < indexes; index++) all.push({ vu, iteration, index });
  return all;
}

/** What the gateway's own parser reads from a request built here. */
function parse(request: IngestRequest): ParsedItem[] {
  const parts = {
    contentType: request.headers['content-type'] ?? '',
    cloudEventHeaders: Object.fromEntries(
      Object.entries(request.headers).filter(([name]) => name.startsWith('ce-')),
    ),
    body: Buffer.from(request.body, 'utf8'),
  };
  return request.path === '/v1/events' ? [parseSingleEvent(parts)] : parseBatch(parts, 1000);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('payload factory', () => {
  it('builds one builder per event type of the catalog', () => {
    expect([...eventTypes].sort()).toEqual(catalog.types());
    const factory = createPayloadFactory();
    for (const type of eventTypes) expect(factory.build(type, { vu: 1, iteration: 0 }).type).toBe(type);
  });

  it('builds the same events for the same seed, whatever order the slots are built in', () => {
    const grid = slots(4, 25);
    const forward = createPayloadFactory({ seed: 42 });
    const backward = createPayloadFactory({ seed: 42 });
    const built = grid.map((slot) => eventTypes.map((type) => forward.build(type, slot)));
    const rebuilt = [...grid]
      .reverse()
      .map((slot) => eventTypes.map((type) => backward.build(type, slot)))
      .reverse();
    expect(rebuilt).toEqual(built);
    expect(JSON.stringify(rebuilt)).toBe(JSON.stringify(built));
  });

  it('changes the data but not the ids when only the seed changes', () => {
    const one = createPayloadFactory({ seed: 1 });
    const two = createPayloadFactory({ seed: 2 });
    const slot = { vu: 3, iteration: 7 };
    const a = eventTypes.map((type) => one.build(type, slot));
    const b = eventTypes.map((type) => two.build(type, slot));
    expect(b.map((event) => event.id)).toEqual(a.map((event) => event.id));
    expect(b.filter((event, i) => JSON.stringify(event.data) !== JSON.stringify(a[i]!.data)).length).toBe(
      eventTypes.length,
    );
  });

  it('gives every event a unique id per (vu, iteration, index) and type, within the gateway rules', () => {
    const factory = createPayloadFactory({ runId: 'k6-m3x9q2a1' });
    const ids = new Set<string>();
    let count = 0;
    for (const slot of slots(8, 30, 3)) {
      for (const type of eventTypes) {
        const event = factory.build(type, slot);
        ids.add(event.id);
        count += 1;
        expect(event.id).toMatch(gatewayIdPattern);
        expect(event.key.length).toBeGreaterThan(0);
        expect(new TextEncoder().encode(event.key).length).toBeLessThanOrEqual(maxKeyBytes);
      }
    }
    expect(ids.size).toBe(count);
  });

  it('keeps the ids of separate runs apart through runId', () => {
    const slot = { vu: 1, iteration: 0 };
    const first = createPayloadFactory({ runId: 'a' }).orderCreated(slot);
    const second = createPayloadFactory({ runId: 'b' }).orderCreated(slot);
    expect(second.id).not.toBe(first.id);
    expect(second.data.orderId).not.toBe(first.data.orderId);
    expect(second.data.items).toEqual(first.data.items);
  });

  it('writes data that the latest schema of every type accepts', () => {
    const factory = createPayloadFactory({ seed: 7 });
    for (const type of catalog.types()) {
      const schema = catalog.latest(type)!;
      for (const slot of slots(10, 40)) {
        const event = factory.build(type as EventType, slot);
        const encoded = encodeEvent(schema, event.data);
        if (!encoded.ok) throw new Error(`${type} ${JSON.stringify(slot)}: ${encoded.message}`);
        expect(encoded.value.length).toBeLessThan(maxEventBytes);
      }
    }
  });

  it('fills optional fields both ways, so the whole schema is exercised', () => {
    // Fields every event of the type sets on purpose: the payment, refund and order belong together.
    const alwaysSet = new Set([
      'payment.succeeded.orderId',
      'payment.failed.orderId',
      'refund.created.orderId',
    ]);
    const factory = createPayloadFactory({ seed: 3 });
    for (const type of eventTypes) {
      const schema = catalog.latest(type)!;
      const fields = (schema.avroSchema.fields as { name: string; type: unknown }[]).filter(
        (field) => Array.isArray(field.type) && field.type.includes('null'),
      );
      const seen = new Map(fields.map((field) => [field.name, { null: false, value: false }]));
      for (const slot of slots(20, 100)) {
        const data = new Map(Object.entries(factory.build(type, slot).data));
        for (const [name, state] of seen) {
          if (data.get(name) === null) state.null = true;
          else state.value = true;
        }
      }
      for (const [name, state] of seen) {
        expect(state.value, `${type}.${name} is set sometimes`).toBe(true);
        if (!alwaysSet.has(`${type}.${name}`))
          expect(state.null, `${type}.${name} is null sometimes`).toBe(true);
      }
    }
  });

  it('keeps the money of an order and of its payment consistent', () => {
    const factory = createPayloadFactory({ seed: 11 });
    for (const slot of slots(5, 60)) {
      const order = factory.orderCreated(slot).data;
      const subtotal = order.items.reduce((sum, item) => sum + item.quantity * item.unitPriceMinor, 0);
      expect(order.subtotalMinor).toBe(subtotal);
      expect(order.totalMinor).toBe(
        order.subtotalMinor - order.discountMinor + order.taxMinor + order.shippingMinor,
      );
      expect(new Set(order.items.map((item) => item.sku)).size).toBe(order.items.length);

      const payment = factory.paymentSucceeded(slot);
      expect(payment.data.orderId).toBe(order.orderId);
      expect(payment.data.amountMinor).toBe(order.totalMinor);
      expect(payment.data.currency).toBe(order.currency);
      expect(payment.key).toBe(order.orderId);
      expect(payment.data.card === null).toBe(payment.data.method !== 'CARD');
      expect(Date.parse(payment.data.capturedAt)).toBeGreaterThan(Date.parse(order.placedAt));

      const stock = factory.inventoryAdjusted(slot).data;
      expect(order.items.map((item) => item.sku)).toContain(stock.sku);
      if (stock.reason === 'SALE') {
        expect(stock.quantityDelta).toBeLessThan(0);
        expect(stock.referenceId).toBe(order.orderId);
      }
    }
  });

  it('never calls Math.random', () => {
    vi.spyOn(Math, 'random').mockImplementation(() => {
      throw new Error('Math.random called');
    });
    const factory = createPayloadFactory();
    for (const slot of slots(3, 10)) {
      for (const type of eventTypes) factory.build(type, slot);
      factory.flashSale(slot);
    }
    factory.batch({ vu: 1, iteration: 1 }, 50);
  });

  it('refuses bad options and slots, naming every problem', () => {
    expect(() => createPayloadFactory({ seed: 1.5, runId: 'has space', epochMs: Number.NaN })).toThrow(
      /seed must be an integer, got 1\.5; runId must be .*"has space"; epochMs must be a finite number/,
    );
    const factory = createPayloadFactory();
    expect(() => factory.orderCreated({ vu: -1, iteration: 0 })).toThrow(/slot\.vu must be a non-negative/);
    expect(() => factory.build('order.shipped' as EventType, { vu: 1, iteration: 0 })).toThrow(
      /no builder for event type "order.shipped"/,
    );
    expect(() => factory.batch({ vu: 1, iteration: 0 }, 0)).toThrow(/batch size must be a positive integer/);
    expect(() => factory.fromMix({}, { vu: 1, iteration: 0 })).toThrow(/at least one type/);
  });
});

describe('flash-sale mix', () => {
  it('is mostly orders, payments and stock updates, in the configured proportions', () => {
    const factory = createPayloadFactory({ seed: 5 });
    const counts = new Map<string, number>();
    const grid = slots(20, 500);
    for (const slot of grid) {
      const { event, priority } = factory.flashSale(slot);
      expect(priority).toBe(priorityClassOfType[event.type]);
      counts.set(event.type, (counts.get(event.type) ?? 0) + 1);
    }
    const total = Object.values(flashSaleMix).reduce((sum, weight) => sum + (weight ?? 0), 0);
    for (const [type, weight] of Object.entries(flashSaleMix)) {
      expect((counts.get(type) ?? 0) / grid.length).toBeCloseTo(weight! / total, 1);
    }
    expect([...counts.keys()].every((type) => type in flashSaleMix)).toBe(true);
    const share = (types: string[]) =>
      types.reduce((sum, type) => sum + (counts.get(type) ?? 0), 0) / grid.length;
    expect(share(['order.created', 'payment.succeeded', 'inventory.adjusted'])).toBeGreaterThan(0.9);
  });

  it('puts payments in the critical class, orders in normal and stock updates in bulk', () => {
    expect(priorityClassOfType['payment.succeeded']).toBe('critical');
    expect(priorityClassOfType['order.created']).toBe('normal');
    expect(priorityClassOfType['inventory.adjusted']).toBe('bulk');
  });

  it('builds batches whose events have their index in the slot', () => {
    const factory = createPayloadFactory();
    const batch = factory.batch({ vu: 2, iteration: 9 }, 100);
    expect(batch).toHaveLength(100);
    expect(new Set(batch.map((event) => event.id)).size).toBe(100);
    expect(batch[37]).toEqual(factory.fromMix(flashSaleMix, { vu: 2, iteration: 9, index: 37 }).event);
    expect(factory.batch({ vu: 2, iteration: 9 }, 100, catalogMix)).not.toEqual(batch);
  });
});

describe('wire forms', () => {
  const factory = createPayloadFactory({ seed: 9 });
  const events: SluiceEvent[] = eventTypes.map((type, index) =>
    factory.build(type, { vu: 1, iteration: index }),
  );
  const expectRead = (items: ParsedItem[], sent: readonly SluiceEvent[]) => {
    expect(items).toHaveLength(sent.length);
    items.forEach((item, i) => {
      if (!item.ok) throw item.error;
      const { type, id, key, data } = sent[i]!;
      expect(item.event).toMatchObject({ type, id, key, data });
    });
  };

  it('sends exactly the Sluice envelope fields as application/json', () => {
    const event = { ...events[0]!, extra: 'never sent' };
    const request = singleEventRequest(event, 'json');
    expect(Object.keys(JSON.parse(request.body))).toEqual(['type', 'key', 'id', 'data']);
    expect(request).toMatchObject({ method: 'POST', path: '/v1/events', eventCount: 1 });
  });

  it.each(singleFormats)('reads back each event sent singly as %s through the gateway parser', (format) => {
    for (const event of events) expectRead(parse(singleEventRequest(event, format)), [event]);
  });

  it.each(batchFormats)('reads back a %s batch through the gateway parser, in order', (format) => {
    const request = batchRequest(events, format);
    expect(request).toMatchObject({ path: '/v1/events/batch', eventCount: events.length });
    expectRead(parse(request), events);
  });

  it('writes CloudEvents with the key as partitionkey and no time unless asked', () => {
    const structured = JSON.parse(singleEventRequest(events[0]!, 'cloudevents').body);
    expect(structured).toMatchObject({ specversion: '1.0', partitionkey: events[0]!.key });
    expect(structured).not.toHaveProperty('time');
    const binary = singleEventRequest(events[0]!, 'cloudevents-binary', {
      source: '/shops/eu',
      time: '2026-11-27T09:00:00Z',
    });
    expect(binary.headers).toMatchObject({
      'ce-source': '/shops/eu',
      'ce-time': '2026-11-27T09:00:00Z',
      'ce-partitionkey': events[0]!.key,
    });
    expect(JSON.parse(binary.body)).toEqual(events[0]!.data);
  });

  it('ends every NDJSON line with a newline', () => {
    const body = batchRequest(events.slice(0, 3), 'ndjson').body;
    expect(body.split('\n')).toHaveLength(4);
    expect(body.endsWith('\n')).toBe(true);
  });
});

describe('seeded randomness', () => {
  it('repeats the same sequence for the same seed and stays in range', () => {
    const a = createPrng(123);
    const b = createPrng(123);
    const values = Array.from({ length: 1000 }, () => a.int(-3, 3));
    expect(Array.from({ length: 1000 }, () => b.int(-3, 3))).toEqual(values);
    expect(new Set(values)).toEqual(new Set([-3, -2, -1, 0, 1, 2, 3]));
  });

  it('hashes large iteration numbers apart from small ones', () => {
    expect(hashInts(1, 0)).not.toBe(hashInts(1, 2 ** 32));
    expect(hashInts(1, 2)).not.toBe(hashInts(2, 1));
  });
});

describe('k6 compatibility', () => {
  it.each(['payloads.ts', 'run-config.ts'])(
    '%s imports nothing but types, so k6 can load it as it is',
    (file) => {
      const source = readFileSync(new URL(file, import.meta.url), 'utf8');
      const imports = source.match(/^import .*$/gm) ?? [];
      expect(imports.filter((line) => !line.startsWith('import type '))).toEqual([]);
      const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      expect(code).not.toMatch(/\b(require\(|process\.|Buffer\b|Math\.random|Date\.now)/);
    },
  );
});

describe('k6 scripts', () => {
  it('import only k6 modules and .ts files that exist as written (k6 resolves paths literally)', () => {
    const k6Dir = new URL('../k6/', import.meta.url);
    const scripts = readdirSync(k6Dir).filter((file) => file.endsWith('.ts'));
    expect(scripts).toEqual(
      expect.arrayContaining(['ingest-steady.ts', 'ingest-batch.ts', 'flash-sale-spike.ts']),
    );
    for (const script of scripts) {
      const source = readFileSync(new URL(script, k6Dir), 'utf8');
      for (const [, specifier] of source.matchAll(/^import [^;]*? from '([^']+)';$/gms)) {
        if (specifier!.startsWith('.')) {
          expect(specifier, `${script} imports ${specifier}`).toMatch(/\.ts$/);
          expect(
            existsSync(new URL(specifier!, new URL(script, k6Dir))),
            `${script}: ${specifier} exists`,
          ).toBe(true);
        } else {
          expect(specifier, `${script} imports ${specifier}`).toMatch(/^k6(\/[a-z-]+)*$/);
        }
      }
    }
  });
});
