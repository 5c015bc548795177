// Deterministic ingest payloads for every event type of the catalog (schemas/); ingest-request.ts
// turns them into requests. Each event is one of its type's schema fixtures (schemas/fixtures/<type>/
// v<N>.json, the data the schema tests prove valid) with the slot's ids, times and amounts, so the
// payloads follow the catalog without a generator per type. Loaded as-is by both k6 and Node, hence:
// - type imports only, with `.ts` paths: k6 resolves import paths literally, and neither `node:*`
//   nor `k6/*` exists on the other side; the caller reads the fixture files (`loadFixtures`);
// - no Math.random or Date.now: every value is a pure function of (seed, vu, iteration, index), so a
//   run is reproducible whatever order k6 schedules its iterations in;
// - ES2020 and nothing host-specific (no Buffer, TextEncoder, structuredClone).

import type { Priority } from '../../gateway/admission/priority.ts';

/**
 * Every event type of the catalog, with the priority class a producer of it would hold its API key
 * in: money movements critical, orders and accounts normal, stock updates bulk. The gateway takes
 * the class from the API key, so a load test sends each class with its own key.
 */
export const priorityClassOfType = {
  'order.created': 'normal',
  'order.cancelled': 'normal',
  'order.fulfilled': 'normal',
  'inventory.adjusted': 'bulk',
  'payment.succeeded': 'critical',
  'payment.failed': 'critical',
  'refund.created': 'critical',
  'account.created': 'normal',
  'account.plan_changed': 'normal',
} as const satisfies Record<string, Priority>;

export type EventType = keyof typeof priorityClassOfType;
export const eventTypes = Object.keys(priorityClassOfType) as EventType[];

/** The fixture files of each type, `schemas/fixtures/<type>/v<N>.json` (a test checks the list). */
export const fixtureVersions: Readonly<Record<EventType, readonly number[]>> = {
  'order.created': [1, 2],
  'order.cancelled': [1],
  'order.fulfilled': [1],
  'inventory.adjusted': [1],
  'payment.succeeded': [1, 2],
  'payment.failed': [1],
  'refund.created': [1],
  'account.created': [1],
  'account.plan_changed': [1],
};

export type EventData = Readonly<Record<string, unknown>>;
export type Fixtures = Readonly<Record<EventType, readonly EventData[]>>;

/**
 * Every fixture, read through `readJson(path)` with `path` relative to the repository root: k6
 * passes `open(import.meta.resolve('../../' + path))`, Node `readFileSync`.
 */
export function loadFixtures(readJson: (path: string) => unknown): Fixtures {
  const fixtures = {} as Record<EventType, EventData[]>;
  for (const type of eventTypes) {
    fixtures[type] = fixtureVersions[type].map(
      (version) => readJson(`schemas/fixtures/${type}/v${version}.json`) as EventData,
    );
  }
  return fixtures;
}

/** Where an event comes from in a load test: one VU's iteration, and the event's place in it. */
export interface Slot {
  /** k6 `exec.vu.idInTest` (1-based) or any non-negative integer. */
  vu: number;
  /** k6 `exec.vu.iterationInInstance` or any non-negative integer. */
  iteration: number;
  /** Position within the iteration (a batch's events); 0 when absent. */
  index?: number;
}

/** Sluice's own JSON envelope (`application/json` on `POST /v1/events`). */
export interface SluiceEvent {
  type: EventType;
  key: string;
  id: string;
  data: EventData;
}

// ---------------------------------------------------------------------------------------------
// Seeded randomness

/** A small, fast PRNG (mulberry32), identical in k6 and Node. */
export interface Prng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max], both included. */
  int(min: number, max: number): number;
  /** An index of `weights`, with probability proportional to its weight. */
  weightedIndex(weights: readonly number[]): number;
}

export function createPrng(seed: number): Prng {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    weightedIndex: (weights) => {
      let point = next() * weights.reduce((sum, weight) => sum + weight, 0);
      for (let i = 0; i < weights.length; i++) {
        point -= weights[i]!;
        if (point < 0) return i;
      }
      return weights.length - 1;
    },
  };
}

const rotl32 = (value: number, bits: number) => (value << bits) | (value >>> (32 - bits));

/**
 * MurmurHash3's 32-bit mixing over a few integers: each (seed, purpose, slot) gets its own PRNG
 * stream, so building one event never shifts the values of another.
 */
export function hashInts(...values: readonly number[]): number {
  let hash = 0x9747b28c;
  for (const value of values) {
    // Both halves of values above 2^32 count, so iteration 2^32 differs from iteration 0.
    for (const word of [value >>> 0, Math.floor(value / 4294967296) >>> 0]) {
      let k = Math.imul(word, 0xcc9e2d51);
      k = rotl32(k, 15);
      k = Math.imul(k, 0x1b873593);
      hash ^= k;
      hash = rotl32(hash, 13);
      hash = (Math.imul(hash, 5) + 0xe6546b64) | 0;
    }
  }
  hash ^= values.length * 8;
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/** A stable 32-bit number per string (FNV-1a), to give each purpose its own PRNG stream. */
function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Mixes

/** Relative weights of event types; types left out are never picked. */
export type EventMix = Readonly<Partial<Record<EventType, number>>>;

/**
 * A flash sale: mostly orders, their payments and the stock they take, a few declines and
 * cancellations. Payments are `critical`, orders `normal`, stock updates `bulk`
 * (see `priorityClassOfType`), so shedding under the spike hits stock updates first.
 */
export const flashSaleMix: EventMix = {
  'order.created': 45,
  'payment.succeeded': 33,
  'inventory.adjusted': 15,
  'payment.failed': 4,
  'order.cancelled': 2,
  'refund.created': 1,
};

/** Every type equally often: steady traffic that exercises the whole catalog. */
export const catalogMix: EventMix = Object.fromEntries(eventTypes.map((type) => [type, 1]));

/** The mixes a k6 run picks from with `MIX`. */
export const mixes = { catalog: catalogMix, 'flash-sale': flashSaleMix } as const;
export type MixName = keyof typeof mixes;

/** An event of a weighted mix, with the priority class its producer's API key holds. */
export interface MixedEvent {
  event: SluiceEvent;
  priority: Priority;
}

// ---------------------------------------------------------------------------------------------
// The factory

export interface PayloadFactoryOptions {
  /** `loadFixtures(…)`: the data every event starts from. */
  fixtures: Fixtures;
  /** Seeds every value; the same seed gives the same payloads. Default 1. */
  seed?: number;
  /**
   * Part of every id, so separate runs against one gateway do not collide within its idempotency
   * window (a repeated id is answered as a duplicate and not written). 1–24 of `[A-Za-z0-9-]`.
   * Default `run`.
   */
  runId?: string;
  /** Time of iteration 0, in ms since the epoch. Default Black Friday 2026, 09:00 UTC. */
  epochMs?: number;
  /** Simulated time between two iterations of one VU. Default 1000 ms. */
  iterationSpacingMs?: number;
}

export interface PayloadFactory {
  readonly seed: number;
  readonly runId: string;
  /** One event of `type` for `slot`. */
  build(type: EventType, slot: Slot): SluiceEvent;
  /** The type `mix` picks for `slot` (deterministic), built for that slot. */
  fromMix(mix: EventMix, slot: Slot): MixedEvent;
  /** `fromMix(flashSaleMix, slot)`. */
  flashSale(slot: Slot): MixedEvent;
  /** `size` events from `mix` (default the flash sale) for one iteration, at indexes 0…size-1. */
  batch(slot: Omit<Slot, 'index'>, size: number, mix?: EventMix): SluiceEvent[];
}

const runIdPattern = /^[A-Za-z0-9-]{1,24}$/;
const defaultEpochMs = Date.UTC(2026, 10, 27, 9, 0, 0);

/** Options are checked once, every problem reported together. */
export function createPayloadFactory(options: PayloadFactoryOptions): PayloadFactory {
  const seed = options.seed ?? 1;
  const runId = options.runId ?? 'run';
  const epochMs = options.epochMs ?? defaultEpochMs;
  const iterationSpacingMs = options.iterationSpacingMs ?? 1000;
  const problems: string[] = [];
  if (!Number.isSafeInteger(seed)) problems.push(`seed must be an integer, got ${seed}`);
  if (typeof runId !== 'string' || !runIdPattern.test(runId)) {
    problems.push(`runId must be 1 to 24 letters, digits or dashes, got ${JSON.stringify(runId)}`);
  }
  if (!Number.isFinite(epochMs)) problems.push(`epochMs must be a finite number, got ${epochMs}`);
  if (!Number.isFinite(iterationSpacingMs) || iterationSpacingMs < 0) {
    problems.push(`iterationSpacingMs must be a non-negative number, got ${iterationSpacingMs}`);
  }
  for (const type of eventTypes) {
    if ((options.fixtures?.[type]?.length ?? 0) === 0)
      problems.push(`fixtures must hold one ${type} at least`);
  }
  if (problems.length > 0) throw new RangeError(`invalid payload factory options: ${problems.join('; ')}`);
  // Every fixture time moves by the same amount, so the times of one slot keep their order.
  const fixturesStartMs = Math.min(...eventTypes.flatMap((type) => options.fixtures[type].flatMap(timesIn)));
  const rngFor = (purpose: string, slot: Slot) =>
    createPrng(hashInts(seed, hashString(purpose), slot.vu, slot.iteration, slot.index ?? 0));

  const build = (type: EventType, slot: Slot): SluiceEvent => {
    const fixtures = options.fixtures[type];
    if (fixtures === undefined) throw new RangeError(`no fixture for event type ${JSON.stringify(type)}`);
    checkSlot(slot);
    // One stream for every type of a slot: its order, payment and refund pick the same fixture
    // version, amounts and times, and so stay one story.
    const rng = rngFor('slot', slot);
    const fixture = fixtures[Math.floor(rng.next() * fixtures.length)]!;
    const slotStartMs =
      epochMs + slot.iteration * iterationSpacingMs + ((slot.vu * 37 + (slot.index ?? 0) * 11) % 997);
    const variation: Variation = {
      ref: `${runId}_${slot.vu}_${slot.iteration}_${slot.index ?? 0}`,
      moneyFactor: rng.int(1, 3),
      shiftMs: slotStartMs + rng.int(0, 999) - fixturesStartMs,
    };
    const data = vary(fixture, '', variation) as EventData;
    return { type, key: keyOf(data), id: `evt-${type}_${variation.ref}`, data };
  };
  const fromMix = (mix: EventMix, slot: Slot): MixedEvent => {
    checkSlot(slot);
    const entries = mixEntries(mix);
    const type = entries[rngFor('mix', slot).weightedIndex(entries.map((entry) => entry[1]))]![0];
    return { event: build(type, slot), priority: priorityClassOfType[type] };
  };
  return {
    seed,
    runId,
    build,
    fromMix,
    flashSale: (slot) => fromMix(flashSaleMix, slot),
    batch: (slot, size, mix = flashSaleMix) => {
      if (!Number.isSafeInteger(size) || size < 1) {
        throw new RangeError(`batch size must be a positive integer, got ${size}`);
      }
      const events: SluiceEvent[] = [];
      for (let index = 0; index < size; index++) {
        events.push(fromMix(mix, { vu: slot.vu, iteration: slot.iteration, index }).event);
      }
      return events;
    },
  };
}

function checkSlot(slot: Slot): void {
  for (const field of ['vu', 'iteration', 'index'] as const) {
    const value = slot[field];
    if (value === undefined && field === 'index') continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`slot.${field} must be a non-negative integer, got ${String(value)}`);
    }
  }
}

function mixEntries(mix: EventMix): (readonly [EventType, number])[] {
  const entries: (readonly [EventType, number])[] = [];
  for (const type of eventTypes) {
    const weight = mix[type] ?? 0;
    if (!Number.isFinite(weight) || weight < 0) {
      throw new RangeError(`mix weight of ${type} must be a non-negative number, got ${weight}`);
    }
    if (weight > 0) entries.push([type, weight]);
  }
  if (entries.length === 0) throw new RangeError('a mix needs at least one type with a positive weight');
  return entries;
}

// ---------------------------------------------------------------------------------------------
// Variations of a fixture

interface Variation {
  /** `<run>_<vu>_<iteration>_<index>`: unique per slot within a run, and across runs. */
  ref: string;
  /** Every `…Minor` amount is multiplied by it: an integer, so sums and totals still add up. */
  moneyFactor: number;
  /** Added to every timestamp. */
  shiftMs: number;
}

const timestampPattern =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|([+-])(\d{2}):(\d{2}))$/;

/** An RFC 3339 timestamp in ms since the epoch, parsed by hand: k6's Date.parse reads fewer forms. */
function timestampMs(text: string): number | undefined {
  const m = timestampPattern.exec(text);
  if (m === null) return undefined;
  const field = (at: number) => Number(m[at] ?? 0);
  const offsetMinutes = m[9] === undefined ? 0 : (m[9] === '-' ? -1 : 1) * (field(10) * 60 + field(11));
  const ms = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  return (
    Date.UTC(field(1), field(2) - 1, field(3), field(4), field(5), field(6), ms) - offsetMinutes * 60_000
  );
}

function timesIn(value: unknown): number[] {
  if (typeof value === 'string') {
    const ms = timestampMs(value);
    return ms === undefined ? [] : [ms];
  }
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(timesIn);
  return [];
}

/**
 * The fixture with the slot's values: ids of the slot's story (`orderId: ord_…`, `paymentId: pay_…`,
 * any `…Id` field whose value has a `prefix_`) become `prefix_<ref>`, so a slot's payment names its
 * order; timestamps move to the slot's time; amounts scale. Everything else stays as the fixture has it.
 */
function vary(value: unknown, name: string, variation: Variation): unknown {
  if (Array.isArray(value)) return value.map((item) => vary(item, name, variation));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([field, inner]) => [field, vary(inner, field, variation)]),
    );
  }
  if (typeof value === 'string') {
    const ms = timestampMs(value);
    if (ms !== undefined) return new Date(ms + variation.shiftMs).toISOString();
    const prefix = /^([a-z]+)_/.exec(value)?.[1];
    return name.endsWith('Id') && prefix !== undefined ? `${prefix}_${variation.ref}` : value;
  }
  if (typeof value === 'number' && name.endsWith('Minor')) return value * variation.moneyFactor;
  return value;
}

/**
 * The partition key: an order's events and its payments and refunds share the order's partition,
 * an account's events the account's, and a SKU's stock changes stay in order on one.
 */
function keyOf(data: EventData): string {
  const key = data.orderId ?? data.accountId ?? data.paymentId;
  return typeof key === 'string' ? key : `${String(data.warehouseId)}/${String(data.sku)}`;
}
