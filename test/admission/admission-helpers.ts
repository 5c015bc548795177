import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { onTestFinished } from 'vitest';

const orderFixture: unknown = JSON.parse(
  readFileSync(new URL('../../schemas/fixtures/order.created/v2.json', import.meta.url), 'utf8'),
);

let eventCounter = 0;

/** A valid `order.created` event without an id: the gateway generates one and skips the idempotency lookup. */
export function orderEvent(): { type: string; key: string; data: unknown } {
  eventCounter++;
  return { type: 'order.created', key: `order-${eventCounter}`, data: orderFixture };
}

export interface GatewayAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The problem document's `code` on an error answer (undefined otherwise). */
  code: string | undefined;
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

async function post(url: string, apiKey: string, body: string): Promise<GatewayAnswer> {
  const response = await request(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body,
  });
  const text = await response.body.text();
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    const joined = headerText(value);
    if (joined !== undefined) headers[name.toLowerCase()] = joined;
  }
  let code: string | undefined;
  if (headers['content-type'] === 'application/problem+json') {
    code = (JSON.parse(text) as { code?: string }).code;
  }
  return { status: response.statusCode, headers, body: text, code };
}

/** `POST /v1/events` with one order event. */
export function postEvent(gatewayUrl: string, apiKey: string): Promise<GatewayAnswer> {
  return post(`${gatewayUrl}/v1/events`, apiKey, JSON.stringify(orderEvent()));
}

/** `POST /v1/events/batch` with `count` order events (a JSON array). */
export function postBatch(gatewayUrl: string, apiKey: string, count: number): Promise<GatewayAnswer> {
  const events = Array.from({ length: count }, () => orderEvent());
  return post(`${gatewayUrl}/v1/events/batch`, apiKey, JSON.stringify(events));
}

export async function scrapeMetrics(adminUrl: string): Promise<string> {
  const response = await request(`${adminUrl}/metrics`);
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`/metrics answered ${response.statusCode}`);
  return text;
}

/**
 * Sum of the samples of `name` whose labels include every pair in `labels` (Prometheus text
 * format). Other labels (such as the registry's default `service`) are ignored.
 */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const sampleLabels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      sampleLabels[pair[1]!] = pair[2]!;
    }
    if (Object.entries(labels).every(([label, value]) => sampleLabels[label] === value)) {
      sum += Number(match[3]);
      found = true;
    }
  }
  if (!found) throw new Error(`no sample of ${name} with ${JSON.stringify(labels)}`);
  return sum;
}

/** Polls `probe` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export function countBy<T>(items: readonly T[], keyOf: (item: T) => string | number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) {
    const key = String(keyOf(item));
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export interface OwnRedis {
  url: string;
  /** SIGKILL: the abrupt outage (no FIN handshake to wait for, no persistence). */
  kill(): Promise<void>;
  /** Starts a fresh, empty redis-server on the same port. */
  restart(): Promise<void>;
}

/**
 * A throwaway redis-server on a free port, so a test can take it down without disturbing the
 * shared Redis of the stack. Killed when the test finishes.
 */
export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const launch = async () => {
    const started = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server on ${port} did not start`)), 10_000);
      started.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      started.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server on ${port} exited with ${code}`));
      });
    });
  };
  const kill = async () => {
    const running = child;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  onTestFinished(kill);
  await launch();
  return { url: `redis://127.0.0.1:${port}`, kill, restart: launch };
}
