// Deterministic, realistic ingest payloads for every event type of the catalog (schemas/), in every
// form the ingest API accepts. Loaded as-is by both k6 and Node, hence the rules of this file:
// - type imports only, with `.ts` paths: k6 resolves import paths literally, so a NodeNext-style
//   `./x.js` import of a sibling `.ts` file would fail there, and neither `node:*` nor `k6/*`
//   exists on the other side; `import type` is erased before either runs the file;
// - no Math.random or Date.now: every value is a pure function of (seed, vu, iteration, index), so a
//   run is reproducible whatever order k6 schedules its iterations in;
// - ES2020 and nothing host-specific (no Buffer, TextEncoder, structuredClone).

import type { Priority } from '../../gateway/admission/priority.ts';

/** Event types of the catalog; builders always write the latest version of each. */
export const eventTypes = [
  'order.created',
  'order.cancelled',
  'order.fulfilled',
  'inventory.adjusted',
  'payment.succeeded',
  'payment.failed',
  'refund.created',
  'account.created',
  'account.plan_changed',
] as const;

export type EventType = (typeof eventTypes)[number];

/**
 * The priority class a producer of each type would hold its API key in: money movements are
 * critical, orders normal, stock and account bookkeeping bulk. The gateway takes the class from the
 * API key, so a load test sends each class with its own key.
 */
export const priorityClassOfType: Readonly<Record<EventType, Priority>> = {
  'payment.succeeded': 'critical',
  'payment.failed': 'critical',
  'refund.created': 'critical',
  'order.created': 'normal',
  'order.cancelled': 'normal',
  'order.fulfilled': 'normal',
  'account.created': 'normal',
  'account.plan_changed': 'normal',
  'inventory.adjusted': 'bulk',
};

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
export interface SluiceEvent<Data extends object = object> {
  type: EventType;
  key: string;
  id: string;
  data: Data;
}

export interface OrderItem {
  sku: string;
  quantity: number;
  unitPriceMinor: number;
  productName: string | null;
}

export interface Address {
  line1: string;
  line2: string | null;
  city: string;
  region: string | null;
  postalCode: string;
  country: string;
}

export type SalesChannel = 'WEB' | 'MOBILE_APP' | 'POINT_OF_SALE' | 'MARKETPLACE';
export type PaymentMethod = 'CARD' | 'BANK_TRANSFER' | 'WALLET' | 'BUY_NOW_PAY_LATER';
export type Plan = 'FREE' | 'STARTER' | 'PRO' | 'ENTERPRISE';

export interface OrderCreatedData {
  orderId: string;
  customerId: string;
  placedAt: string;
  currency: string;
  items: OrderItem[];
  subtotalMinor: number;
  taxMinor: number;
  shippingMinor: number;
  totalMinor: number;
  shippingAddress: Address | null;
  discountMinor: number;
  couponCode: string | null;
  channel: SalesChannel | null;
}

export interface OrderCancelledData {
  orderId: string;
  customerId: string;
  cancelledAt: string;
  reason: 'CUSTOMER_REQUEST' | 'PAYMENT_FAILED' | 'OUT_OF_STOCK' | 'FRAUD_SUSPECTED' | 'OTHER';
  note: string | null;
  restock: boolean;
  cancelledBy: string | null;
}

export interface OrderFulfilledData {
  orderId: string;
  fulfillmentId: string;
  warehouseId: string;
  fulfilledAt: string;
  items: { sku: string; quantity: number }[];
  carrier: string | null;
  trackingNumber: string | null;
  complete: boolean;
}

export interface InventoryAdjustedData {
  adjustmentId: string;
  sku: string;
  warehouseId: string;
  adjustedAt: string;
  quantityDelta: number;
  quantityOnHand: number;
  reason: 'RESTOCK' | 'SALE' | 'RETURN' | 'DAMAGE' | 'SHRINKAGE' | 'CYCLE_COUNT' | 'TRANSFER';
  referenceId: string | null;
}

export interface CardDetails {
  brand: string;
  last4: string;
  expiryMonth: number;
  expiryYear: number;
}

export interface PaymentSucceededData {
  paymentId: string;
  orderId: string | null;
  customerId: string;
  amountMinor: number;
  currency: string;
  method: PaymentMethod;
  provider: string;
  providerReference: string;
  capturedAt: string;
  feeMinor: number | null;
  card: CardDetails | null;
}

export interface PaymentFailedData {
  paymentId: string;
  orderId: string | null;
  customerId: string;
  amountMinor: number;
  currency: string;
  method: PaymentMethod;
  provider: string;
  failureCode: string;
  failureMessage: string | null;
  retryable: boolean;
  attempt: number;
  failedAt: string;
}

export interface RefundCreatedData {
  refundId: string;
  paymentId: string;
  orderId: string | null;
  amountMinor: number;
  currency: string;
  reason:
    | 'REQUESTED_BY_CUSTOMER'
    | 'DUPLICATE'
    | 'FRAUDULENT'
    | 'PRODUCT_NOT_RECEIVED'
    | 'PRODUCT_DEFECTIVE'
    | 'OTHER';
  createdAt: string;
  initiatedBy: string | null;
}

export interface AccountCreatedData {
  accountId: string;
  name: string;
  ownerUserId: string;
  ownerEmail: string;
  plan: Plan;
  seats: number;
  billingCountry: string | null;
  createdAt: string;
  trialEndsAt: string | null;
  attributes: Record<string, string>;
}

export interface AccountPlanChangedData {
  accountId: string;
  fromPlan: Plan;
  toPlan: Plan;
  seats: number;
  monthlyPriceMinor: number;
  currency: string;
  changedAt: string;
  effectiveAt: string;
  changedBy: string | null;
}

export interface EventDataByType {
  'order.created': OrderCreatedData;
  'order.cancelled': OrderCancelledData;
  'order.fulfilled': OrderFulfilledData;
  'inventory.adjusted': InventoryAdjustedData;
  'payment.succeeded': PaymentSucceededData;
  'payment.failed': PaymentFailedData;
  'refund.created': RefundCreatedData;
  'account.created': AccountCreatedData;
  'account.plan_changed': AccountPlanChangedData;
}

// ---------------------------------------------------------------------------------------------
// Seeded randomness

/** A small, fast PRNG (mulberry32): good enough to vary payloads, and identical in k6 and Node. */
export interface Prng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max], both included. */
  int(min: number, max: number): number;
  chance(probability: number): boolean;
  pick<T>(values: readonly T[]): T;
  /** An index of `weights`, with probability proportional to its weight. */
  weightedIndex(weights: readonly number[]): number;
  /** A key of `table`, with probability proportional to its value. */
  weightedKey<K extends string>(table: Readonly<Record<K, number>>): K;
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
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const weightedIndex = (weights: readonly number[]) => {
    let total = 0;
    for (const weight of weights) total += weight;
    let point = next() * total;
    for (let i = 0; i < weights.length; i++) {
      point -= weights[i]!;
      if (point < 0) return i;
    }
    return weights.length - 1;
  };
  return {
    next,
    int,
    chance: (probability) => next() < probability,
    pick: (values) => values[int(0, values.length - 1)]!,
    weightedIndex,
    weightedKey: <K extends string>(table: Readonly<Record<K, number>>) => {
      // Insertion order of string keys is fixed by the language, so this stays deterministic.
      const keys = Object.keys(table) as K[];
      return keys[weightedIndex(keys.map((key) => table[key]))]!;
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
// Reference data: a Black Friday shop selling in several markets, and a SaaS signing up tenants

interface Product {
  sku: string;
  name: string;
  /** Price in euro cents; other currencies convert with `Market.minorPerEuroCent`. */
  priceEuroCents: number;
  /** Relative demand during a flash sale: doorbusters (≥ 25) dominate. */
  demand: number;
}

const products: readonly Product[] = [
  { sku: 'HP-NC700-BLK', name: 'Noise-cancelling headphones, black', priceEuroCents: 17900, demand: 40 },
  { sku: 'CONSOLE-X-1TB', name: 'Game console X, 1 TB', priceEuroCents: 39900, demand: 32 },
  { sku: 'TV-55-OLED', name: '55" OLED TV', priceEuroCents: 99900, demand: 18 },
  { sku: 'AIRFRYER-5L', name: 'Air fryer, 5 l', priceEuroCents: 7900, demand: 25 },
  { sku: 'TSHIRT-BLK-M', name: 'T-shirt, black, M', priceEuroCents: 1999, demand: 9 },
  { sku: 'TSHIRT-WHT-L', name: 'T-shirt, white, L', priceEuroCents: 1999, demand: 7 },
  { sku: 'HOODIE-GRY-L', name: 'Grey hoodie, L', priceEuroCents: 5900, demand: 8 },
  { sku: 'SNEAKER-RUN-42', name: 'Running shoes, EU 42', priceEuroCents: 11900, demand: 10 },
  { sku: 'MUG-LOGO', name: 'Logo mug', priceEuroCents: 1250, demand: 5 },
  { sku: 'STICKER-PACK', name: 'Sticker pack', priceEuroCents: 300, demand: 4 },
  { sku: 'EBOOK-KAFKA', name: 'E-book: Streaming at scale', priceEuroCents: 2900, demand: 3 },
  { sku: 'GIFTCARD-50', name: 'Gift card 50', priceEuroCents: 5000, demand: 6 },
  { sku: 'USB-C-HUB-7', name: 'USB-C hub, 7 ports', priceEuroCents: 4900, demand: 6 },
  { sku: 'KBD-MECH-TKL', name: 'Mechanical keyboard, TKL', priceEuroCents: 12900, demand: 5 },
  { sku: 'SSD-NVME-2TB', name: 'NVMe SSD, 2 TB', priceEuroCents: 14900, demand: 9 },
  { sku: 'WATCH-FIT-2', name: 'Fitness watch 2', priceEuroCents: 19900, demand: 7 },
];
const productDemand = products.map((product) => product.demand);
/** Goods without a shipping address (the address is null for orders made only of these). */
const digitalSkus = new Set(['EBOOK-KAFKA', 'GIFTCARD-50']);

interface Market {
  country: string;
  currency: string;
  /** How many minor units of `currency` one euro cent is worth (JPY has no minor unit). */
  minorPerEuroCent: number;
  taxRate: number;
  /** Shipping in minor units; free at or above `freeShippingFromMinor`. */
  shippingMinor: number;
  freeShippingFromMinor: number;
  /** Share of orders and signups. */
  weight: number;
  warehouseId: string;
  companySuffix: string;
  addresses: readonly Omit<Address, 'country'>[];
}

const markets: readonly Market[] = [
  {
    country: 'DE',
    currency: 'EUR',
    minorPerEuroCent: 1,
    taxRate: 0.19,
    shippingMinor: 490,
    freeShippingFromMinor: 5000,
    weight: 30,
    warehouseId: 'wh-fra-1',
    companySuffix: 'GmbH',
    addresses: [
      { line1: 'Torstraße 120', line2: null, city: 'Berlin', region: null, postalCode: '10119' },
      { line1: 'Maximilianstraße 8', line2: '3. OG', city: 'München', region: 'BY', postalCode: '80539' },
      { line1: 'Schanzenstraße 41', line2: null, city: 'Hamburg', region: null, postalCode: '20357' },
    ],
  },
  {
    country: 'US',
    currency: 'USD',
    minorPerEuroCent: 1.08,
    taxRate: 0.0825,
    shippingMinor: 599,
    freeShippingFromMinor: 3500,
    weight: 35,
    warehouseId: 'wh-rno-2',
    companySuffix: 'Inc.',
    addresses: [
      {
        line1: '500 Howard St',
        line2: 'Suite 300',
        city: 'San Francisco',
        region: 'CA',
        postalCode: '94105',
      },
      { line1: '233 S Wacker Dr', line2: null, city: 'Chicago', region: 'IL', postalCode: '60606' },
      { line1: '85 Broad St', line2: 'Fl 17', city: 'New York', region: 'NY', postalCode: '10004' },
    ],
  },
  {
    country: 'GB',
    currency: 'GBP',
    minorPerEuroCent: 0.85,
    taxRate: 0.2,
    shippingMinor: 399,
    freeShippingFromMinor: 4000,
    weight: 15,
    warehouseId: 'wh-lhr-1',
    companySuffix: 'Ltd',
    addresses: [
      { line1: '1 Canada Square', line2: null, city: 'London', region: null, postalCode: 'E14 5AB' },
      { line1: '20 Deansgate', line2: 'Flat 4', city: 'Manchester', region: null, postalCode: 'M3 1RH' },
    ],
  },
  {
    country: 'FR',
    currency: 'EUR',
    minorPerEuroCent: 1,
    taxRate: 0.2,
    shippingMinor: 590,
    freeShippingFromMinor: 6000,
    weight: 10,
    warehouseId: 'wh-fra-1',
    companySuffix: 'SAS',
    addresses: [
      { line1: '12 rue de Rivoli', line2: null, city: 'Paris', region: null, postalCode: '75004' },
      { line1: '3 quai Saint-Antoine', line2: null, city: 'Lyon', region: null, postalCode: '69002' },
    ],
  },
  {
    country: 'JP',
    currency: 'JPY',
    minorPerEuroCent: 1.6,
    taxRate: 0.1,
    shippingMinor: 800,
    freeShippingFromMinor: 5000,
    weight: 10,
    warehouseId: 'wh-nrt-1',
    companySuffix: 'K.K.',
    addresses: [
      { line1: '1-1-2 Oshiage', line2: null, city: 'Sumida-ku', region: 'Tokyo', postalCode: '131-0045' },
      { line1: '2-4-9 Umeda', line2: '12F', city: 'Kita-ku', region: 'Osaka', postalCode: '530-0001' },
    ],
  },
];
const marketWeights = markets.map((market) => market.weight);

// Weight tables: relative frequencies, not percentages that must add up.
const channels = { WEB: 48, MOBILE_APP: 40, MARKETPLACE: 7, POINT_OF_SALE: 2, UNKNOWN: 3 } as const;
/** Coupon → percent off the subtotal (every coupon equally likely). */
const couponPercent = { BLACKFRIDAY20: 20, WELCOME10: 10, VIP15: 15, APPONLY5: 5 } as const;
const paymentMethods: Readonly<Record<PaymentMethod, number>> = {
  CARD: 70,
  WALLET: 20,
  BUY_NOW_PAY_LATER: 7,
  BANK_TRANSFER: 3,
};
const providerOf: Readonly<Record<PaymentMethod, readonly string[]>> = {
  CARD: ['stripe', 'adyen'],
  WALLET: ['paypal', 'stripe'],
  BUY_NOW_PAY_LATER: ['klarna'],
  BANK_TRANSFER: ['adyen'],
};
const cardBrands = { visa: 55, mastercard: 35, amex: 8, jcb: 2 } as const;
const declines: readonly { code: string; message: string; retryable: boolean }[] = [
  { code: 'insufficient_funds', message: 'Your card has insufficient funds.', retryable: true },
  { code: 'card_declined', message: 'Your card was declined.', retryable: false },
  { code: 'expired_card', message: 'Your card has expired.', retryable: false },
  { code: 'authentication_required', message: '3-D Secure was not completed.', retryable: true },
  { code: 'processing_error', message: 'An error occurred while processing your card.', retryable: true },
];
const cancellationReasons: Readonly<Record<OrderCancelledData['reason'], number>> = {
  CUSTOMER_REQUEST: 50,
  PAYMENT_FAILED: 25,
  OUT_OF_STOCK: 15,
  FRAUD_SUSPECTED: 7,
  OTHER: 3,
};
const adjustmentReasons: Readonly<Record<InventoryAdjustedData['reason'], number>> = {
  SALE: 80,
  RESTOCK: 6,
  RETURN: 5,
  DAMAGE: 3,
  SHRINKAGE: 2,
  CYCLE_COUNT: 2,
  TRANSFER: 2,
};
const refundReasons: Readonly<Record<RefundCreatedData['reason'], number>> = {
  REQUESTED_BY_CUSTOMER: 45,
  PRODUCT_DEFECTIVE: 20,
  PRODUCT_NOT_RECEIVED: 15,
  DUPLICATE: 10,
  FRAUDULENT: 5,
  OTHER: 5,
};
const carriers = ['DHL', 'UPS', 'DPD', 'Royal Mail', 'Yamato', 'USPS'] as const;
const plans: readonly Plan[] = ['FREE', 'STARTER', 'PRO', 'ENTERPRISE'];
const signupPlans: Readonly<Record<Plan, number>> = { FREE: 50, STARTER: 30, PRO: 15, ENTERPRISE: 5 };
/** Price per seat per month, in euro cents. */
const seatPriceEuroCents: Readonly<Record<Plan, number>> = {
  FREE: 0,
  STARTER: 900,
  PRO: 2900,
  ENTERPRISE: 5900,
};
const companyWords = ['Acme', 'Northwind', 'Cobalt', 'Bright', 'Quantum', 'Silverline', 'Redwood', 'Lumen'];
const companyTrades = ['Robotics', 'Analytics', 'Logistics', 'Foods', 'Labs', 'Studios', 'Health', 'Energy'];
const firstNames = ['ana', 'ben', 'chloe', 'deniz', 'emma', 'felix', 'hana', 'ivan', 'keiko', 'liam'];
const lastNames = ['schmidt', 'garcia', 'smith', 'martin', 'tanaka', 'novak', 'okafor', 'rossi', 'dubois'];
const utmSources = ['newsletter', 'google', 'linkedin', 'podcast', 'partner', 'direct'];
const companySizes = ['1-10', '11-50', '51-200', '201-1000', '1000+'];

// ---------------------------------------------------------------------------------------------
// The factory

export interface PayloadFactoryOptions {
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

/** An event of a weighted mix, with the priority class its producer's API key holds. */
export interface MixedEvent {
  event: SluiceEvent;
  priority: Priority;
}

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

export interface PayloadFactory {
  readonly seed: number;
  readonly runId: string;
  /** One event of `type` for `slot`. */
  build<T extends EventType>(type: T, slot: Slot): SluiceEvent<EventDataByType[T]>;
  orderCreated(slot: Slot): SluiceEvent<OrderCreatedData>;
  orderCancelled(slot: Slot): SluiceEvent<OrderCancelledData>;
  orderFulfilled(slot: Slot): SluiceEvent<OrderFulfilledData>;
  inventoryAdjusted(slot: Slot): SluiceEvent<InventoryAdjustedData>;
  paymentSucceeded(slot: Slot): SluiceEvent<PaymentSucceededData>;
  paymentFailed(slot: Slot): SluiceEvent<PaymentFailedData>;
  refundCreated(slot: Slot): SluiceEvent<RefundCreatedData>;
  accountCreated(slot: Slot): SluiceEvent<AccountCreatedData>;
  accountPlanChanged(slot: Slot): SluiceEvent<AccountPlanChangedData>;
  /** The type `mix` picks for `slot` (deterministic), built for that slot. */
  fromMix(mix: EventMix, slot: Slot): MixedEvent;
  /** `fromMix(flashSaleMix, slot)`. */
  flashSale(slot: Slot): MixedEvent;
  /** `size` events from `mix` for one iteration, at indexes 0…size-1. */
  batch(slot: Omit<Slot, 'index'>, size: number, mix?: EventMix): SluiceEvent[];
}

/** Short codes keep ids readable and distinct between the types built for one slot. */
const typeCode: Readonly<Record<EventType, string>> = {
  'order.created': 'oc',
  'order.cancelled': 'ox',
  'order.fulfilled': 'of',
  'inventory.adjusted': 'ia',
  'payment.succeeded': 'ps',
  'payment.failed': 'pf',
  'refund.created': 'rc',
  'account.created': 'ac',
  'account.plan_changed': 'ap',
};

const runIdPattern = /^[A-Za-z0-9-]{1,24}$/;
const defaultEpochMs = Date.UTC(2026, 10, 27, 9, 0, 0);
const hourMs = 3_600_000;
const dayMs = 24 * hourMs;

interface Context {
  seed: number;
  runId: string;
  epochMs: number;
  iterationSpacingMs: number;
}

/** Options are checked once, every problem reported together. */
export function createPayloadFactory(options: PayloadFactoryOptions = {}): PayloadFactory {
  const ctx = resolveOptions(options);
  const bind =
    <T extends EventType>(type: T) =>
    (slot: Slot) =>
      buildEvent(ctx, type, slot);
  const fromMix = (mix: EventMix, slot: Slot): MixedEvent => {
    checkSlot(slot);
    const entries = mixEntries(mix);
    const type = entries[rngFor(ctx, 'mix', slot).weightedIndex(entries.map((entry) => entry[1]))]![0];
    return { event: buildEvent(ctx, type, slot), priority: priorityClassOfType[type] };
  };
  return {
    seed: ctx.seed,
    runId: ctx.runId,
    build: (type, slot) => buildEvent(ctx, type, slot),
    orderCreated: bind('order.created'),
    orderCancelled: bind('order.cancelled'),
    orderFulfilled: bind('order.fulfilled'),
    inventoryAdjusted: bind('inventory.adjusted'),
    paymentSucceeded: bind('payment.succeeded'),
    paymentFailed: bind('payment.failed'),
    refundCreated: bind('refund.created'),
    accountCreated: bind('account.created'),
    accountPlanChanged: bind('account.plan_changed'),
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

function resolveOptions(options: PayloadFactoryOptions): Context {
  const ctx: Context = {
    seed: options.seed ?? 1,
    runId: options.runId ?? 'run',
    epochMs: options.epochMs ?? defaultEpochMs,
    iterationSpacingMs: options.iterationSpacingMs ?? 1000,
  };
  const problems: string[] = [];
  if (!Number.isSafeInteger(ctx.seed)) problems.push(`seed must be an integer, got ${ctx.seed}`);
  if (typeof ctx.runId !== 'string' || !runIdPattern.test(ctx.runId)) {
    problems.push(`runId must be 1 to 24 letters, digits or dashes, got ${JSON.stringify(ctx.runId)}`);
  }
  if (!Number.isFinite(ctx.epochMs)) problems.push(`epochMs must be a finite number, got ${ctx.epochMs}`);
  if (!Number.isFinite(ctx.iterationSpacingMs) || ctx.iterationSpacingMs < 0) {
    problems.push(`iterationSpacingMs must be a non-negative number, got ${ctx.iterationSpacingMs}`);
  }
  if (problems.length > 0) throw new RangeError(`invalid payload factory options: ${problems.join('; ')}`);
  return ctx;
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

function buildEvent<T extends EventType>(ctx: Context, type: T, slot: Slot): SluiceEvent<EventDataByType[T]> {
  const builder = builders[type];
  if (builder === undefined) throw new RangeError(`no builder for event type ${JSON.stringify(type)}`);
  checkSlot(slot);
  return builder(ctx, slot);
}

/** Each (seed, purpose, slot) has its own stream: adding a field to one type shifts no other. */
function rngFor(ctx: Context, purpose: string, slot: Slot): Prng {
  return createPrng(hashInts(ctx.seed, hashString(purpose), slot.vu, slot.iteration, slot.index ?? 0));
}

/** `<prefix>_<run>_<vu>_<iteration>_<index>`: unique per slot within a run, and across runs. */
function ref(ctx: Context, prefix: string, slot: Slot): string {
  return `${prefix}_${ctx.runId}_${slot.vu}_${slot.iteration}_${slot.index ?? 0}`;
}

/** When the slot's story starts: iterations advance the clock, VUs spread within a second. */
function slotTimeMs(ctx: Context, slot: Slot): number {
  return (
    ctx.epochMs + slot.iteration * ctx.iterationSpacingMs + ((slot.vu * 37 + (slot.index ?? 0) * 11) % 997)
  );
}

const iso = (ms: number) => new Date(ms).toISOString();

function envelope<T extends EventType>(
  ctx: Context,
  type: T,
  key: string,
  slot: Slot,
  data: EventDataByType[T],
): SluiceEvent<EventDataByType[T]> {
  return { type, key, id: ref(ctx, `evt-${typeCode[type]}`, slot), data };
}

type PlacedOrder = OrderCreatedData & { market: Market; placedAtMs: number };

/** The order behind a slot: payments, stock, fulfilment and refunds of that slot refer to it. */
function placeOrder(ctx: Context, slot: Slot): PlacedOrder {
  const rng = rngFor(ctx, 'order', slot);
  const market = markets[rng.weightedIndex(marketWeights)]!;
  const lineCount = 1 + rng.weightedIndex([55, 28, 12, 5]);
  const lines = new Map<string, OrderItem>();
  for (let i = 0; i < lineCount; i++) {
    const product = products[rng.weightedIndex(productDemand)]!;
    // A second pick of the same product adds no line: quantities stay within the sale's limits.
    if (lines.has(product.sku)) continue;
    lines.set(product.sku, {
      sku: product.sku,
      // Doorbusters are limited to two per customer.
      quantity: product.demand >= 25 ? rng.int(1, 2) : rng.int(1, 3),
      unitPriceMinor: Math.round(product.priceEuroCents * market.minorPerEuroCent),
      // Some shop integrations still send v1-shaped items without a product name.
      productName: rng.chance(0.9) ? product.name : null,
    });
  }
  const items = [...lines.values()];
  const subtotalMinor = items.reduce((sum, item) => sum + item.quantity * item.unitPriceMinor, 0);
  const couponCode = rng.chance(0.3) ? rng.weightedKey(couponPercent) : null;
  const discountMinor = couponCode ? Math.round((subtotalMinor * couponPercent[couponCode]) / 100) : 0;
  const taxMinor = Math.round((subtotalMinor - discountMinor) * market.taxRate);
  const digitalOnly = items.every((item) => digitalSkus.has(item.sku));
  const freeShipping = digitalOnly || subtotalMinor - discountMinor >= market.freeShippingFromMinor;
  const shippingMinor = freeShipping ? 0 : market.shippingMinor;
  const address = rng.pick(market.addresses);
  const channel = rng.weightedKey(channels);
  const placedAtMs = slotTimeMs(ctx, slot) + rng.int(0, 999);
  return {
    market,
    placedAtMs,
    orderId: ref(ctx, 'ord', slot),
    customerId: `cus_${rng.int(1, 250_000).toString(36)}`,
    placedAt: iso(placedAtMs),
    currency: market.currency,
    items,
    subtotalMinor,
    taxMinor,
    shippingMinor,
    totalMinor: subtotalMinor - discountMinor + taxMinor + shippingMinor,
    shippingAddress: digitalOnly ? null : { ...address, country: market.country },
    discountMinor,
    couponCode,
    channel: channel === 'UNKNOWN' ? null : channel,
  };
}

function orderCreated(ctx: Context, slot: Slot): SluiceEvent<OrderCreatedData> {
  const { market: _market, placedAtMs: _placedAtMs, ...data } = placeOrder(ctx, slot);
  return envelope(ctx, 'order.created', data.orderId, slot, data);
}

function paymentSucceeded(ctx: Context, slot: Slot): SluiceEvent<PaymentSucceededData> {
  const order = placeOrder(ctx, slot);
  const rng = rngFor(ctx, 'payment.succeeded', slot);
  const method = rng.weightedKey(paymentMethods);
  const provider = rng.pick(providerOf[method]);
  const data: PaymentSucceededData = {
    paymentId: ref(ctx, 'pay', slot),
    orderId: order.orderId,
    customerId: order.customerId,
    amountMinor: order.totalMinor,
    currency: order.currency,
    method,
    provider,
    providerReference: `${provider.slice(0, 2)}_${rng.int(0, 0x7fffffff).toString(36)}${rng.int(0, 0x7fffffff).toString(36)}`,
    capturedAt: iso(order.placedAtMs + rng.int(800, 6000)),
    // The fee is often known only at settlement.
    feeMinor: rng.chance(0.7) ? Math.round(order.totalMinor * 0.014) + 25 : null,
    card:
      method === 'CARD'
        ? {
            brand: rng.weightedKey(cardBrands),
            last4: String(rng.int(0, 9999)).padStart(4, '0'),
            expiryMonth: rng.int(1, 12),
            expiryYear: new Date(order.placedAtMs).getUTCFullYear() + rng.int(1, 5),
          }
        : null,
  };
  return envelope(ctx, 'payment.succeeded', order.orderId, slot, data);
}

function paymentFailed(ctx: Context, slot: Slot): SluiceEvent<PaymentFailedData> {
  const order = placeOrder(ctx, slot);
  const rng = rngFor(ctx, 'payment.failed', slot);
  const method = rng.weightedKey(paymentMethods);
  const decline = rng.pick(declines);
  const data: PaymentFailedData = {
    paymentId: ref(ctx, 'payf', slot),
    orderId: order.orderId,
    customerId: order.customerId,
    amountMinor: order.totalMinor,
    currency: order.currency,
    method,
    provider: rng.pick(providerOf[method]),
    failureCode: decline.code,
    failureMessage: rng.chance(0.85) ? decline.message : null,
    retryable: decline.retryable,
    attempt: 1 + rng.weightedIndex([80, 15, 5]),
    failedAt: iso(order.placedAtMs + rng.int(500, 4000)),
  };
  return envelope(ctx, 'payment.failed', order.orderId, slot, data);
}

function orderCancelled(ctx: Context, slot: Slot): SluiceEvent<OrderCancelledData> {
  const order = placeOrder(ctx, slot);
  const rng = rngFor(ctx, 'order.cancelled', slot);
  const reason = rng.weightedKey(cancellationReasons);
  const byStaff = reason !== 'CUSTOMER_REQUEST' && reason !== 'PAYMENT_FAILED';
  const data: OrderCancelledData = {
    orderId: order.orderId,
    customerId: order.customerId,
    cancelledAt: iso(order.placedAtMs + rng.int(60_000, hourMs)),
    reason,
    note: reason === 'CUSTOMER_REQUEST' && rng.chance(0.4) ? 'Ordered the wrong size' : null,
    restock: reason !== 'FRAUD_SUSPECTED' || rng.chance(0.5),
    cancelledBy: byStaff ? `usr_support_${rng.int(1, 40)}` : null,
  };
  return envelope(ctx, 'order.cancelled', order.orderId, slot, data);
}

function orderFulfilled(ctx: Context, slot: Slot): SluiceEvent<OrderFulfilledData> {
  const order = placeOrder(ctx, slot);
  const rng = rngFor(ctx, 'order.fulfilled', slot);
  // Large orders ship in two parts: this event is the first shipment.
  const split = order.items.length > 1 && rng.chance(0.25);
  const shipped = split ? order.items.slice(0, Math.ceil(order.items.length / 2)) : order.items;
  const pickup = order.shippingAddress === null || rng.chance(0.03);
  const data: OrderFulfilledData = {
    orderId: order.orderId,
    fulfillmentId: ref(ctx, 'ful', slot),
    warehouseId: order.market.warehouseId,
    fulfilledAt: iso(order.placedAtMs + rng.int(4 * hourMs, 3 * dayMs)),
    items: shipped.map((item) => ({ sku: item.sku, quantity: item.quantity })),
    carrier: pickup ? null : rng.pick(carriers),
    trackingNumber: pickup ? null : `JD${String(rng.int(0, 999_999_999)).padStart(9, '0')}${rng.int(10, 99)}`,
    complete: !split,
  };
  return envelope(ctx, 'order.fulfilled', order.orderId, slot, data);
}

function inventoryAdjusted(ctx: Context, slot: Slot): SluiceEvent<InventoryAdjustedData> {
  const order = placeOrder(ctx, slot);
  const rng = rngFor(ctx, 'inventory.adjusted', slot);
  // Mostly the stock an order takes; sometimes a restock, a return or a count.
  const reason = rng.weightedKey(adjustmentReasons);
  const item = rng.pick(order.items);
  const deltaOf: Record<InventoryAdjustedData['reason'], () => number> = {
    SALE: () => -item.quantity,
    RESTOCK: () => rng.int(50, 500),
    RETURN: () => 1,
    TRANSFER: () => rng.pick([-1, 1]) * rng.int(10, 100),
    DAMAGE: () => -rng.int(1, 5),
    SHRINKAGE: () => -rng.int(1, 5),
    CYCLE_COUNT: () => rng.int(-5, 5),
  };
  const referenceOf: Partial<Record<InventoryAdjustedData['reason'], () => string>> = {
    SALE: () => order.orderId,
    RETURN: () => order.orderId,
    RESTOCK: () => `PO-${rng.int(100_000, 999_999)}`,
  };
  const data: InventoryAdjustedData = {
    adjustmentId: ref(ctx, 'adj', slot),
    sku: item.sku,
    warehouseId: order.market.warehouseId,
    adjustedAt: iso(order.placedAtMs + rng.int(50, 1500)),
    quantityDelta: deltaOf[reason](),
    quantityOnHand: rng.int(0, 5000),
    reason,
    referenceId: referenceOf[reason]?.() ?? null,
  };
  // Keyed by warehouse and SKU, so one SKU's stock changes stay in order on one partition.
  return envelope(ctx, 'inventory.adjusted', `${data.warehouseId}/${data.sku}`, slot, data);
}

function refundCreated(ctx: Context, slot: Slot): SluiceEvent<RefundCreatedData> {
  const order = placeOrder(ctx, slot);
  const rng = rngFor(ctx, 'refund.created', slot);
  const reason = rng.weightedKey(refundReasons);
  const full = reason === 'DUPLICATE' || reason === 'FRAUDULENT' || rng.chance(0.3);
  const data: RefundCreatedData = {
    refundId: ref(ctx, 're', slot),
    paymentId: ref(ctx, 'pay', slot),
    orderId: order.orderId,
    amountMinor: full ? order.totalMinor : rng.pick(order.items).unitPriceMinor,
    currency: order.currency,
    reason,
    createdAt: iso(order.placedAtMs + rng.int(dayMs, 21 * dayMs)),
    initiatedBy: reason === 'DUPLICATE' || rng.chance(0.2) ? null : `usr_support_${rng.int(1, 40)}`,
  };
  return envelope(ctx, 'refund.created', order.orderId, slot, data);
}

function seatsFor(rng: Prng, plan: Plan): number {
  return plan === 'FREE' ? 1 : plan === 'ENTERPRISE' ? rng.int(50, 2000) : rng.int(2, 49);
}

function accountCreated(ctx: Context, slot: Slot): SluiceEvent<AccountCreatedData> {
  const rng = rngFor(ctx, 'account.created', slot);
  const market = markets[rng.weightedIndex(marketWeights)]!;
  const word = rng.pick(companyWords);
  const trade = rng.pick(companyTrades);
  const plan = rng.weightedKey(signupPlans);
  const createdAtMs = slotTimeMs(ctx, slot) + rng.int(0, 999);
  const attributes: Record<string, string> = { utm_source: rng.pick(utmSources) };
  if (rng.chance(0.6)) attributes.company_size = rng.pick(companySizes);
  // A key that is not an identifier, as real signup forms send.
  if (rng.chance(0.2)) attributes['utm-campaign'] = 'black-friday-2026';
  const data: AccountCreatedData = {
    accountId: ref(ctx, 'acct', slot),
    name: `${word} ${trade} ${market.companySuffix}`,
    ownerUserId: ref(ctx, 'usr', slot),
    ownerEmail: `${rng.pick(firstNames)}.${rng.pick(lastNames)}@${word.toLowerCase()}-${trade.toLowerCase()}.example`,
    plan,
    seats: seatsFor(rng, plan),
    billingCountry: plan === 'FREE' && rng.chance(0.5) ? null : market.country,
    createdAt: iso(createdAtMs),
    trialEndsAt: plan === 'STARTER' || plan === 'PRO' ? iso(createdAtMs + 14 * dayMs) : null,
    attributes,
  };
  return envelope(ctx, 'account.created', data.accountId, slot, data);
}

function accountPlanChanged(ctx: Context, slot: Slot): SluiceEvent<AccountPlanChangedData> {
  const rng = rngFor(ctx, 'account.plan_changed', slot);
  const market = markets[rng.weightedIndex(marketWeights)]!;
  const from = rng.int(0, plans.length - 1);
  // Three upgrades for every downgrade; FREE can only go up, ENTERPRISE only down.
  const up = from === 0 || (from < plans.length - 1 && rng.chance(0.75));
  const toPlan = plans[up ? rng.int(from + 1, plans.length - 1) : rng.int(0, from - 1)]!;
  const seats = seatsFor(rng, toPlan);
  const changedAtMs = slotTimeMs(ctx, slot) + rng.int(0, 999);
  const data: AccountPlanChangedData = {
    accountId: ref(ctx, 'acct', slot),
    fromPlan: plans[from]!,
    toPlan,
    seats,
    monthlyPriceMinor: Math.round(seatPriceEuroCents[toPlan] * market.minorPerEuroCent) * seats,
    currency: market.currency,
    changedAt: iso(changedAtMs),
    // Downgrades apply at the end of the billing period.
    effectiveAt: iso(up ? changedAtMs : changedAtMs + rng.int(1, 30) * dayMs),
    changedBy: rng.chance(0.85) ? `usr_${rng.int(1000, 99_999)}` : null,
  };
  return envelope(ctx, 'account.plan_changed', data.accountId, slot, data);
}

const builders: { [T in EventType]: (ctx: Context, slot: Slot) => SluiceEvent<EventDataByType[T]> } = {
  'order.created': orderCreated,
  'order.cancelled': orderCancelled,
  'order.fulfilled': orderFulfilled,
  'inventory.adjusted': inventoryAdjusted,
  'payment.succeeded': paymentSucceeded,
  'payment.failed': paymentFailed,
  'refund.created': refundCreated,
  'account.created': accountCreated,
  'account.plan_changed': accountPlanChanged,
};

// ---------------------------------------------------------------------------------------------
// Wire forms: what to POST, independent of the HTTP client (k6 `http.post`, undici, fetch)

/** One HTTP request to the ingest API; add `authorization: Bearer <key>` to `headers`. */
export interface IngestRequest {
  method: 'POST';
  /** `/v1/events` or `/v1/events/batch`; append to the gateway's base URL. */
  path: string;
  headers: Record<string, string>;
  body: string;
  /** How many events the body holds (rate limits count events, not requests). */
  eventCount: number;
}

export type SingleFormat = 'json' | 'cloudevents' | 'cloudevents-binary';
export type BatchFormat = 'json' | 'ndjson' | 'cloudevents';
export const singleFormats: readonly SingleFormat[] = ['json', 'cloudevents', 'cloudevents-binary'];
export const batchFormats: readonly BatchFormat[] = ['json', 'ndjson', 'cloudevents'];

export interface CloudEventOptions {
  /** CloudEvents `source`. Default `/sluice/load-tests`. */
  source?: string;
  /**
   * CloudEvents `time`. Absent by default, so the gateway stamps the time it received the event and
   * end-to-end latency is measured from there; pass one only when that is what you want.
   */
  time?: string;
}

/** CloudEvents 1.0 structured form; the partition key travels in the `partitionkey` extension. */
export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  datacontenttype: 'application/json';
  partitionkey: string;
  time?: string;
  data: object;
}

const defaultSource = '/sluice/load-tests';

/** Exactly the envelope fields, so nothing else a caller attached can reach the gateway. */
export function toSluiceEnvelope(event: SluiceEvent): SluiceEvent {
  return { type: event.type, key: event.key, id: event.id, data: event.data };
}

export function toCloudEvent(event: SluiceEvent, options: CloudEventOptions = {}): CloudEvent {
  const cloudEvent: CloudEvent = {
    specversion: '1.0',
    id: event.id,
    source: options.source ?? defaultSource,
    type: event.type,
    datacontenttype: 'application/json',
    partitionkey: event.key,
    data: event.data,
  };
  if (options.time !== undefined) cloudEvent.time = options.time;
  return cloudEvent;
}

export function singleEventRequest(
  event: SluiceEvent,
  format: SingleFormat = 'json',
  options: CloudEventOptions = {},
): IngestRequest {
  const request = (headers: Record<string, string>, body: string): IngestRequest => ({
    method: 'POST',
    path: '/v1/events',
    headers,
    body,
    eventCount: 1,
  });
  switch (format) {
    case 'json':
      return request({ 'content-type': 'application/json' }, JSON.stringify(toSluiceEnvelope(event)));
    case 'cloudevents':
      return request(
        { 'content-type': 'application/cloudevents+json' },
        JSON.stringify(toCloudEvent(event, options)),
      );
    case 'cloudevents-binary': {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-id': event.id,
        'ce-source': options.source ?? defaultSource,
        'ce-type': event.type,
        'ce-partitionkey': event.key,
      };
      if (options.time !== undefined) headers['ce-time'] = options.time;
      return request(headers, JSON.stringify(event.data));
    }
    default:
      throw new RangeError(`format must be one of ${singleFormats.join(', ')}, got ${String(format)}`);
  }
}

export function batchRequest(
  events: readonly SluiceEvent[],
  format: BatchFormat = 'json',
  options: CloudEventOptions = {},
): IngestRequest {
  const request = (contentType: string, body: string): IngestRequest => ({
    method: 'POST',
    path: '/v1/events/batch',
    headers: { 'content-type': contentType },
    body,
    eventCount: events.length,
  });
  switch (format) {
    case 'json':
      return request('application/json', JSON.stringify(events.map(toSluiceEnvelope)));
    case 'ndjson':
      return request(
        'application/x-ndjson',
        events.map((event) => `${JSON.stringify(toSluiceEnvelope(event))}\n`).join(''),
      );
    case 'cloudevents':
      return request(
        'application/cloudevents-batch+json',
        JSON.stringify(events.map((event) => toCloudEvent(event, options))),
      );
    default:
      throw new RangeError(`format must be one of ${batchFormats.join(', ')}, got ${String(format)}`);
  }
}
