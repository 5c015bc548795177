import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from 'undici';
import { priorities, type Priority } from '../../gateway/admission/priority.js';

/** What one open-loop phase sends. */
export interface OpenLoopPlan {
  /** Arrivals per second, fixed: request i is due at start + i / rate, whatever the answers do. */
  ratePerSecond: number;
  durationMs: number;
  /** Share of arrivals per priority (normalised); arrivals are interleaved, not random. */
  mix: Readonly<Record<Priority, number>>;
  /** Builds request i's body (one event, with a unique partition key); none for a GET. */
  body?: (index: number) => string;
  headers: Readonly<Record<Priority, Record<string, string>>>;
  /** The path, or request i's path. */
  path: string | ((index: number) => string);
  /** Default POST. */
  method?: 'GET' | 'POST';
  /** The answer counted as accepted (its JSON `id` is collected); default 202. */
  okStatus?: number;
  /**
   * Requests outstanding at once, at most. Beyond it an arrival is not sent and is counted as
   * `generatorDropped`: the generator's memory must stay bounded when the server stops answering.
   * `Infinity` hands every arrival to the pool, which queues what its connections cannot take.
   */
  maxInFlight: number;
}

/** One API key for every arrival: the mix and headers of a plan that does not compare classes. */
export function oneClass(headers: Record<string, string>): Pick<OpenLoopPlan, 'mix' | 'headers'> {
  return {
    mix: { critical: 1, normal: 0, bulk: 0 },
    headers: { critical: headers, normal: headers, bulk: headers },
  };
}

/** Per priority: what came back. Latencies are from the moment the request was handed to undici. */
export interface PriorityOutcome {
  sent: number;
  accepted: number;
  rateLimited: number;
  /** 503 SLUICE_OVERLOADED: load shedding. */
  shed: number;
  /** Any other answer (status → count), e.g. 503 SLUICE_KAFKA_UNAVAILABLE, 500, 400. */
  otherStatuses: Record<string, number>;
  /** Network errors and timeouts (message → count). */
  errors: Record<string, number>;
  acceptedLatencyMs: number[];
  refusedLatencyMs: number[];
}

export interface OpenLoopResult {
  byPriority: Record<Priority, PriorityOutcome>;
  /** Ids the gateway answered 202 for (each must end up in Kafka). */
  acceptedIds: string[];
  /** `performance.now()` when each of `acceptedIds` was answered, in the same order. */
  acceptedAtMs: number[];
  /** Arrivals not sent because `maxInFlight` requests were already outstanding. */
  generatorDropped: number;
  /** How late the generator handed requests to undici, relative to their schedule (ms). */
  sendLagMs: number[];
  /**
   * Most requests seen waiting in the pool for a free connection. Above zero, latencies include
   * time queued in the client, not only at the server: raise the pool's connections.
   */
  clientQueuedMax: number;
  /**
   * TCP connections the pool had to open during the phase. The gateway closes the connection when
   * it refuses a request before reading its body, so each such refusal costs a new handshake.
   */
  connectionsOpened: number;
  /** Requests outstanding, averaged over the generator's ticks while arrivals were due. */
  meanInFlight: number;
  /** `performance.now()` at the first arrival. */
  startedAtMs: number;
  /** From the first arrival to the last answer. */
  elapsedMs: number;
  /** From the first arrival to the last arrival. */
  arrivalsMs: number;
  /** CPU this process used during the phase, in cores (1 = one core busy). */
  generatorCpuCores: number;
}

function emptyOutcome(): PriorityOutcome {
  return {
    sent: 0,
    accepted: 0,
    rateLimited: 0,
    shed: 0,
    otherStatuses: {},
    errors: {},
    acceptedLatencyMs: [],
    refusedLatencyMs: [],
  };
}

/** Arrival i's priority: a fixed interleaving matching the mix (e.g. 1 critical, 3 normal, 6 bulk in 10). */
export function priorityPattern(mix: Readonly<Record<Priority, number>>, length = 100): Priority[] {
  const total = priorities.reduce((sum, priority) => sum + Math.max(0, mix[priority]), 0);
  if (!(total > 0)) throw new RangeError('the priority mix must give some traffic to at least one class');
  const pattern: Priority[] = [];
  const credit: Record<Priority, number> = { critical: 0, normal: 0, bulk: 0 };
  // Smooth weighted round robin: every class shows up at its share in any window, not in blocks.
  for (let i = 0; i < length; i++) {
    let best: Priority = 'critical';
    for (const priority of priorities) {
      credit[priority] += Math.max(0, mix[priority]) / total;
      if (credit[priority] > credit[best]) best = priority;
    }
    credit[best] -= 1;
    pattern.push(best);
  }
  return pattern;
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

/**
 * Offers load at a fixed arrival rate (open loop): unlike a closed loop of N connections, a slow
 * server does not slow the offered load down, so what the server does with an excess is visible.
 * A timer wakes every millisecond and sends every arrival that has become due; if the generator
 * itself falls behind, `sendLagMs` shows it. The pool should hold enough connections that it never
 * queues while the server sheds as it should (in flight ≈ rate × latency).
 */
export async function runOpenLoop(pool: Pool, plan: OpenLoopPlan): Promise<OpenLoopResult> {
  const byPriority: Record<Priority, PriorityOutcome> = {
    critical: emptyOutcome(),
    normal: emptyOutcome(),
    bulk: emptyOutcome(),
  };
  const pattern = priorityPattern(plan.mix);
  const acceptedIds: string[] = [];
  const acceptedAtMs: number[] = [];
  const sendLagMs: number[] = [];
  const outstanding = new Set<Promise<void>>();
  let generatorDropped = 0;
  let connectionsOpened = 0;
  const onConnect = () => connectionsOpened++;
  pool.on('connect', onConnect);
  const cpuBefore = process.cpuUsage();
  const startMs = performance.now();
  const total = Math.floor((plan.ratePerSecond * plan.durationMs) / 1000);
  const intervalMs = 1000 / plan.ratePerSecond;

  const send = (index: number) => {
    const priority = pattern[index % pattern.length]!;
    const outcome = byPriority[priority];
    if (outstanding.size >= plan.maxInFlight) {
      generatorDropped++;
      return;
    }
    const sentMs = performance.now();
    sendLagMs.push(sentMs - (startMs + index * intervalMs));
    outcome.sent++;
    const done = pool
      .request({
        path: typeof plan.path === 'string' ? plan.path : plan.path(index),
        method: plan.method ?? 'POST',
        headers: plan.headers[priority],
        body: plan.body?.(index),
      })
      .then(async (response) => {
        const text = await response.body.text();
        const answeredMs = performance.now();
        const latencyMs = answeredMs - sentMs;
        if (response.statusCode === (plan.okStatus ?? 202)) {
          outcome.accepted++;
          outcome.acceptedLatencyMs.push(latencyMs);
          acceptedIds.push((JSON.parse(text) as { id: string }).id);
          acceptedAtMs.push(answeredMs);
          return;
        }
        outcome.refusedLatencyMs.push(latencyMs);
        if (response.statusCode === 429) outcome.rateLimited++;
        else if (response.statusCode === 503 && text.includes('"SLUICE_OVERLOADED"')) outcome.shed++;
        else {
          const code = /"code":"(\w+)"/.exec(text)?.[1];
          bump(outcome.otherStatuses, code ? `${response.statusCode} ${code}` : String(response.statusCode));
        }
      })
      .catch((error: unknown) => {
        bump(outcome.errors, error instanceof Error ? `${error.name}: ${error.message}` : String(error));
      })
      .finally(() => outstanding.delete(done));
    outstanding.add(done);
  };

  let next = 0;
  let clientQueuedMax = 0;
  let inFlightSum = 0;
  let ticks = 0;
  while (next < total) {
    const due = Math.min(total, Math.floor((performance.now() - startMs) / intervalMs) + 1);
    while (next < due) send(next++);
    const stats = pool.stats;
    clientQueuedMax = Math.max(clientQueuedMax, stats.size - stats.running);
    inFlightSum += outstanding.size;
    ticks++;
    await sleep(1);
  }
  const arrivalsMs = performance.now() - startMs;
  while (outstanding.size > 0) await Promise.all([...outstanding]);
  const elapsedMs = performance.now() - startMs;
  pool.off('connect', onConnect);
  const cpu = process.cpuUsage(cpuBefore);
  return {
    byPriority,
    acceptedIds,
    acceptedAtMs,
    generatorDropped,
    sendLagMs,
    clientQueuedMax,
    connectionsOpened,
    meanInFlight: ticks > 0 ? inFlightSum / ticks : 0,
    startedAtMs: startMs,
    elapsedMs,
    arrivalsMs,
    generatorCpuCores: (cpu.user + cpu.system) / 1000 / elapsedMs,
  };
}

/** Closed loop: `concurrency` requests at a time, each sent as soon as the previous one is answered. */
export async function runClosedLoop(
  pool: Pool,
  options: {
    concurrency: number;
    durationMs: number;
    path: string;
    headers: Record<string, string>;
    body: (index: number) => string;
  },
): Promise<{ accepted: number; others: Record<string, number>; elapsedMs: number; acceptedIds: string[] }> {
  const startMs = performance.now();
  const endMs = startMs + options.durationMs;
  const acceptedIds: string[] = [];
  const others: Record<string, number> = {};
  let index = 0;
  const worker = async () => {
    while (performance.now() < endMs) {
      try {
        const response = await pool.request({
          path: options.path,
          method: 'POST',
          headers: options.headers,
          body: options.body(index++),
        });
        const text = await response.body.text();
        if (response.statusCode === 202) acceptedIds.push((JSON.parse(text) as { id: string }).id);
        else bump(others, `${response.statusCode} ${/"code":"(\w+)"/.exec(text)?.[1] ?? ''}`.trim());
      } catch (error) {
        bump(others, error instanceof Error ? error.name : 'error');
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return { accepted: acceptedIds.length, others, elapsedMs: performance.now() - startMs, acceptedIds };
}

/** The p-th percentile (0..100) by nearest rank; NaN for no samples. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** The middle of the round results (the upper one of the two middles for an even count). */
export function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

/**
 * Opens up to `count` keep-alive connections before a phase, in waves, so the phase measures the
 * gateway rather than a storm of TCP handshakes overflowing its listen backlog. Uses a request the
 * gateway refuses at once without a body (401), so nothing is written.
 */
export async function openConnections(pool: Pool, count: number, wave = 128): Promise<void> {
  for (let concurrent = wave; concurrent <= count; concurrent += wave) {
    await Promise.all(
      Array.from({ length: concurrent }, () =>
        pool
          .request({ path: '/v1/event-types', method: 'GET' })
          .then((response) => response.body.dump())
          .catch(() => undefined),
      ),
    );
  }
}
