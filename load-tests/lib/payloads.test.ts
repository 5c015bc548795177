import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodeEvent, loadSchemaCatalog } from '../../schemas/index.js';
import {
  catalogMix,
  createPayloadFactory,
  createPrng,
  eventTypes,
  fixtureVersions,
  flashSaleMix,
  hashInts,
  priorityClassOfType,
  type EventType,
  type PayloadFactoryOptions,
} from './payloads.js';
import { readFixtures } from './read-fixtures.js';

const catalog = loadSchemaCatalog();
const fixtures = readFixtures();
/** A factory over the schema fixtures. */
const factoryOf = (options: Omit<PayloadFactoryOptions, 'fixtures'> = {}) =>
  createPayloadFactory({ fixtures, ...options });
const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
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

afterEach(() => {
  vi.restoreAllMocks();
});

describe('payload factory', () => {
  it('starts from every fixture of every event type of the catalog', () => {
    expect([...eventTypes].sort()).toEqual(catalog.types());
    for (const type of eventTypes) {
      const files = readdirSync(new URL(`../../schemas/fixtures/${type}/`, import.meta.url));
      expect(
        fixtureVersions[type].map((version) => `v${version}.json`).sort(),
        `fixtureVersions in payloads.ts lists schemas/fixtures/${type}/`,
      ).toEqual(files.sort());
    }
    const factory = factoryOf();
    for (const type of eventTypes) expect(factory.build(type, { vu: 1, iteration: 0 }).type).toBe(type);
  });

  it('builds the same events for the same seed, whatever order the slots are built in', () => {
    const grid = slots(4, 25);
    const forward = factoryOf({ seed: 42 });
    const backward = factoryOf({ seed: 42 });
    const built = grid.map((slot) => eventTypes.map((type) => forward.build(type, slot)));
    const rebuilt = [...grid]
      .reverse()
      .map((slot) => eventTypes.map((type) => backward.build(type, slot)))
      .reverse();
    expect(rebuilt).toEqual(built);
    expect(JSON.stringify(rebuilt)).toBe(JSON.stringify(built));
  });

  it('changes the data but not the ids when only the seed changes', () => {
    const one = factoryOf({ seed: 1 });
    const two = factoryOf({ seed: 2 });
    const slot = { vu: 3, iteration: 7 };
    const a = eventTypes.map((type) => one.build(type, slot));
    const b = eventTypes.map((type) => two.build(type, slot));
    expect(b.map((event) => event.id)).toEqual(a.map((event) => event.id));
    expect(b.filter((event, i) => JSON.stringify(event.data) !== JSON.stringify(a[i]!.data)).length).toBe(
      eventTypes.length,
    );
  });

  it('gives every event a unique id per (vu, iteration, index) and type, within the gateway rules', () => {
    const factory = factoryOf({ runId: 'k6-m3x9q2a1' });
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
    const first = factoryOf({ runId: 'a' }).build('order.created', slot);
    const second = factoryOf({ runId: 'b' }).build('order.created', slot);
    expect(second.id).not.toBe(first.id);
    expect(second.data.orderId).not.toBe(first.data.orderId);
    expect(second.data.items).toEqual(first.data.items);
  });

  it('writes data that the latest schema of every type accepts', () => {
    const factory = factoryOf({ seed: 7 });
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

  it('sends each fixture of a type, changing only its ids, times and amounts', () => {
    // What the factory may change, replaced by a placeholder: the rest must be a fixture's.
    const fixed = (value: unknown, name = ''): unknown => {
      if (Array.isArray(value)) return value.map((item) => fixed(item, name));
      if (typeof value === 'object' && value !== null) {
        return Object.fromEntries(
          Object.entries(value).map(([field, inner]) => [field, fixed(inner, field)]),
        );
      }
      if (typeof value === 'string' && rfc3339.test(value)) return 'time';
      if (typeof value === 'string' && name.endsWith('Id') && /^[a-z]+_/.test(value)) return 'id';
      if (typeof value === 'number' && name.endsWith('Minor')) return 'amount';
      return value;
    };
    const factory = factoryOf({ seed: 3 });
    for (const type of eventTypes) {
      const expected = fixtures[type].map((fixture) => fixed(fixture));
      const seen = new Set<string>();
      for (const slot of slots(5, 20)) {
        const sent = fixed(factory.build(type, slot).data);
        expect(expected, type).toContainEqual(sent);
        seen.add(JSON.stringify(sent));
      }
      expect(seen.size, `${type}: every fixture is sent`).toBe(
        new Set(expected.map((e) => JSON.stringify(e))).size,
      );
    }
  });

  it('gives a slot one order: its payment, refund and cancellation name it and share its key', () => {
    const factory = factoryOf({ seed: 11 });
    const orderIds = new Set<unknown>();
    const totals = new Set<unknown>();
    for (const slot of slots(5, 60)) {
      const order = factory.build('order.created', slot);
      const items = order.data.items as { quantity: number; unitPriceMinor: number }[];
      const data = order.data as Record<string, number>;
      // Amounts scale by a whole factor, so an order's sums still add up.
      expect(data.subtotalMinor).toBe(
        items.reduce((sum, item) => sum + item.quantity * item.unitPriceMinor, 0),
      );
      expect(data.totalMinor).toBe(
        data.subtotalMinor! - (data.discountMinor ?? 0) + data.taxMinor! + data.shippingMinor!,
      );
      expect(order.key).toBe(order.data.orderId);
      orderIds.add(order.data.orderId);
      totals.add(data.totalMinor);

      const payment = factory.build('payment.succeeded', slot);
      if (payment.data.orderId === null) expect(payment.key).toBe(payment.data.paymentId);
      else expect([payment.data.orderId, payment.key]).toEqual([order.data.orderId, order.key]);
      const refund = factory.build('refund.created', slot);
      expect([refund.data.orderId, refund.data.paymentId]).toEqual([
        order.data.orderId,
        payment.data.paymentId,
      ]);
      expect(factory.build('order.cancelled', slot).key).toBe(order.key);
      const stock = factory.build('inventory.adjusted', slot);
      expect(stock.key).toBe(`${String(stock.data.warehouseId)}/${String(stock.data.sku)}`);
    }
    expect(orderIds.size).toBe(300);
    expect(totals.size).toBeGreaterThan(2);
  });

  it('moves every time to its slot, from Black Friday 2026 on, iterations a second apart', () => {
    const factory = factoryOf();
    const placedAt = (iteration: number) =>
      Date.parse(String(factory.build('order.created', { vu: 1, iteration }).data.placedAt));
    expect(placedAt(60) - placedAt(0)).toBeGreaterThan(58_000);
    expect(placedAt(60) - placedAt(0)).toBeLessThan(62_000);
    // The earliest time of any fixture lands on the epoch; the others keep their distance to it.
    expect(placedAt(0)).toBeGreaterThanOrEqual(Date.UTC(2026, 10, 27, 9));
    for (const type of eventTypes) {
      for (const value of Object.values(factory.build(type, { vu: 2, iteration: 5 }).data)) {
        if (typeof value === 'string' && rfc3339.test(value)) expect(value).toMatch(/^2026-1[12]-\d\dT.*Z$/);
      }
    }
  });

  it('never calls Math.random', () => {
    vi.spyOn(Math, 'random').mockImplementation(() => {
      throw new Error('Math.random called');
    });
    const factory = factoryOf();
    for (const slot of slots(3, 10)) {
      for (const type of eventTypes) factory.build(type, slot);
      factory.flashSale(slot);
    }
    factory.batch({ vu: 1, iteration: 1 }, 50);
  });

  it('refuses bad options and slots, naming every problem', () => {
    expect(() => factoryOf({ seed: 1.5, runId: 'has space', epochMs: Number.NaN })).toThrow(
      /seed must be an integer, got 1\.5; runId must be .*"has space"; epochMs must be a finite number/,
    );
    expect(() => createPayloadFactory({ fixtures: { ...fixtures, 'order.created': [] } })).toThrow(
      /fixtures must hold one order\.created at least/,
    );
    const factory = factoryOf();
    expect(() => factory.build('order.created', { vu: -1, iteration: 0 })).toThrow(
      /slot\.vu must be a non-negative/,
    );
    expect(() => factory.build('order.shipped' as EventType, { vu: 1, iteration: 0 })).toThrow(
      /no fixture for event type "order.shipped"/,
    );
    expect(() => factory.batch({ vu: 1, iteration: 0 }, 0)).toThrow(/batch size must be a positive integer/);
    expect(() => factory.fromMix({}, { vu: 1, iteration: 0 })).toThrow(/at least one type/);
  });
});

describe('flash-sale mix', () => {
  it('is mostly orders, payments and stock updates, in the configured proportions', () => {
    const factory = factoryOf({ seed: 5 });
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
    const factory = factoryOf();
    const batch = factory.batch({ vu: 2, iteration: 9 }, 100);
    expect(batch).toHaveLength(100);
    expect(new Set(batch.map((event) => event.id)).size).toBe(100);
    expect(batch[37]).toEqual(factory.fromMix(flashSaleMix, { vu: 2, iteration: 9, index: 37 }).event);
    expect(factory.batch({ vu: 2, iteration: 9 }, 100, catalogMix)).not.toEqual(batch);
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
  it.each(['payloads.ts', 'ingest-request.ts', 'run-config.ts'])(
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
