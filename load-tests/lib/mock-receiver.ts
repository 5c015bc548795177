// A webhook receiver for delivery benchmarks and tests: answers fast, records what arrived, and can
// fail, delay or check Standard Webhooks signatures on demand. Plain node:http, no dependencies, so
// what it measures is the sender, not the receiver.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MockReceiverOptions {
  /** Default 0: a free port, read it from `url` / `port`. */
  port?: number;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Status of a successful answer. Default 204. */
  successStatus?: number;
  /** Fraction of attempts, 0…1, answered with `failureStatus`. Default 0. */
  failureRate?: number;
  /** Status of a failed answer. Default 503. */
  failureStatus?: number;
  /** Sent as `Retry-After` on failed answers when set. */
  failureRetryAfterSeconds?: number;
  /** Fail the first N attempts of every webhook-id, then succeed: a deterministic retry scenario. */
  failFirstAttempts?: number;
  /** Wait this long before answering (a slow endpoint). Default 0. */
  delayMs?: number;
  /**
   * Standard Webhooks secrets (`whsec_…`). When set, every request's signature is checked; an
   * invalid one is answered 401 and recorded with `signatureValid: false`.
   */
  secrets?: readonly string[];
  /** How far `webhook-timestamp` may be from now. Default 300 s, as the Standard Webhooks libraries. */
  timestampToleranceSeconds?: number;
  /**
   * Keep a record of every request in `received`. Default true; long benchmarks turn it off and read
   * `stats()` (which still tracks ids, for attempts and duplicates).
   */
  recordRequests?: boolean;
  /** Keep each request's body in its record (memory grows with the run). Default false. */
  keepBodies?: boolean;
  /** Largest body read, in bytes; larger requests are answered 413. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Source of randomness for `failureRate` (inject for deterministic tests). Default Math.random. */
  random?: () => number;
  /** Clock in ms since the epoch. Default Date.now. */
  nowMs?: () => number;
}

/** One request as the receiver saw it. */
export interface ReceivedWebhook {
  /** `webhook-id`: the event id, the same on every attempt. */
  webhookId: string | undefined;
  /** `webhook-timestamp` in seconds, when present and numeric. */
  webhookTimestampSeconds: number | undefined;
  /** 1 for the first request with this webhook-id, 2 for the next… */
  attempt: number;
  /** When the whole body had arrived, in ms since the epoch. */
  arrivedAtMs: number;
  method: string;
  path: string;
  /** What the receiver answered. */
  status: number;
  /** Undefined unless `secrets` were given. */
  signatureValid: boolean | undefined;
  bodyBytes: number;
  /** Only with `keepBodies`. */
  body?: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface MockReceiverStats {
  requests: number;
  /** Requests answered with `successStatus`. */
  delivered: number;
  failed: number;
  invalidSignatures: number;
  /** Distinct webhook-ids answered with success. */
  uniqueDelivered: number;
  /** Successful answers for a webhook-id that had already succeeded: what dedup must prevent. */
  duplicateDeliveries: number;
}

export interface MockReceiver {
  readonly url: string;
  readonly port: number;
  /** Every request so far, in arrival order. */
  readonly received: readonly ReceivedWebhook[];
  stats(): MockReceiverStats;
  /**
   * Resolves once `count` requests were answered with success (counted since the last `reset`), with
   * the successful records; rejects after `timeoutMs`.
   */
  waitForDelivered(count: number, timeoutMs?: number): Promise<ReceivedWebhook[]>;
  /** Forgets everything received (counters included); options stay. */
  reset(): void;
  close(): Promise<void>;
}

const defaultMaxBodyBytes = 1024 * 1024;
const signaturePrefix = 'v1,';

/** Starts a receiver; `close()` it when done (tests: register it as cleanup). */
export async function startMockReceiver(options: MockReceiverOptions = {}): Promise<MockReceiver> {
  const settings = resolveOptions(options);
  const secretKeys = (options.secrets ?? []).map(decodeSecret);
  let received: ReceivedWebhook[] = [];
  let attempts = new Map<string, number>();
  let deliveredIds = new Set<string>();
  let counts = emptyStats();
  let waiters: { count: number; resolve: () => void }[] = [];

  const wakeWaiters = () => {
    waiters = waiters.filter((waiter) => {
      if (counts.delivered < waiter.count) return true;
      waiter.resolve();
      return false;
    });
  };

  const handle = (request: IncomingMessage, response: ServerResponse, body: Buffer | undefined) => {
    const arrivedAtMs = settings.nowMs();
    const webhookId = headerOf(request, 'webhook-id');
    const attempt = webhookId === undefined ? 1 : (attempts.get(webhookId) ?? 0) + 1;
    if (webhookId !== undefined) attempts.set(webhookId, attempt);
    const timestampText = headerOf(request, 'webhook-timestamp');
    const timestamp =
      timestampText !== undefined && /^\d+$/.test(timestampText) ? Number(timestampText) : undefined;
    const signatureValid =
      secretKeys.length === 0 || body === undefined
        ? undefined
        : verifySignature(secretKeys, webhookId, timestamp, headerOf(request, 'webhook-signature'), body, {
            nowSeconds: Math.floor(arrivedAtMs / 1000),
            toleranceSeconds: settings.timestampToleranceSeconds,
          });
    const status =
      body === undefined
        ? 413
        : signatureValid === false
          ? 401
          : attempt <= settings.failFirstAttempts || settings.random() < settings.failureRate
            ? settings.failureStatus
            : settings.successStatus;
    const record: ReceivedWebhook = {
      webhookId,
      webhookTimestampSeconds: timestamp,
      attempt,
      arrivedAtMs,
      method: request.method ?? 'GET',
      path: request.url ?? '/',
      status,
      signatureValid,
      bodyBytes: body?.length ?? 0,
      headers: request.headers,
    };
    if (settings.keepBodies && body !== undefined) record.body = body.toString('utf8');
    if (settings.recordRequests) received.push(record);
    count(record);
    const answer = () => {
      const headers: Record<string, string> = {};
      if (status === settings.failureStatus && settings.failureRetryAfterSeconds !== undefined) {
        headers['retry-after'] = String(settings.failureRetryAfterSeconds);
      }
      response.writeHead(status, headers).end();
    };
    if (settings.delayMs > 0) setTimeout(answer, settings.delayMs);
    else answer();
  };

  const count = (record: ReceivedWebhook) => {
    counts.requests += 1;
    if (record.signatureValid === false) counts.invalidSignatures += 1;
    if (record.status !== settings.successStatus) {
      counts.failed += 1;
      return;
    }
    counts.delivered += 1;
    if (record.webhookId !== undefined) {
      if (deliveredIds.has(record.webhookId)) counts.duplicateDeliveries += 1;
      deliveredIds.add(record.webhookId);
    }
    wakeWaiters();
  };

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > settings.maxBodyBytes) tooLarge = true;
      else chunks.push(chunk);
    });
    request.on('end', () => handle(request, response, tooLarge ? undefined : Buffer.concat(chunks, bytes)));
    request.on('error', () => response.destroy());
  });
  // Senders keep pooled connections open between bursts; do not make them reconnect.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;

  return {
    url: `http://${host}:${port}`,
    port,
    get received() {
      return received;
    },
    stats: () => ({ ...counts, uniqueDelivered: deliveredIds.size }),
    waitForDelivered: (wanted, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          resolve(received.filter((record) => record.status === settings.successStatus));
        };
        const timer = setTimeout(() => {
          waiters = waiters.filter((waiter) => waiter.resolve !== done);
          reject(
            new Error(`only ${counts.delivered} of ${wanted} webhooks delivered within ${timeoutMs} ms`),
          );
        }, timeoutMs);
        waiters.push({ count: wanted, resolve: done });
        wakeWaiters();
      }),
    reset: () => {
      received = [];
      attempts = new Map();
      deliveredIds = new Set();
      counts = emptyStats();
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

type ResolvedOptions = Required<Omit<MockReceiverOptions, 'secrets' | 'failureRetryAfterSeconds'>> & {
  failureRetryAfterSeconds: number | undefined;
};

function resolveOptions(options: MockReceiverOptions): ResolvedOptions {
  const settings: ResolvedOptions = {
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    successStatus: options.successStatus ?? 204,
    failureRate: options.failureRate ?? 0,
    failureStatus: options.failureStatus ?? 503,
    failureRetryAfterSeconds: options.failureRetryAfterSeconds,
    failFirstAttempts: options.failFirstAttempts ?? 0,
    delayMs: options.delayMs ?? 0,
    timestampToleranceSeconds: options.timestampToleranceSeconds ?? 300,
    recordRequests: options.recordRequests ?? true,
    keepBodies: options.keepBodies ?? false,
    maxBodyBytes: options.maxBodyBytes ?? defaultMaxBodyBytes,
    random: options.random ?? Math.random,
    nowMs: options.nowMs ?? Date.now,
  };
  const problems: string[] = [];
  if (!(settings.failureRate >= 0 && settings.failureRate <= 1)) {
    problems.push(`failureRate must be from 0 to 1, got ${settings.failureRate}`);
  }
  for (const field of ['successStatus', 'failureStatus'] as const) {
    const status = settings[field];
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      problems.push(`${field} must be an HTTP status from 200 to 599, got ${status}`);
    }
  }
  if (settings.successStatus === settings.failureStatus) {
    problems.push(`failureStatus must differ from successStatus (${settings.successStatus})`);
  }
  for (const field of [
    'failFirstAttempts',
    'delayMs',
    'maxBodyBytes',
    'timestampToleranceSeconds',
  ] as const) {
    if (!Number.isFinite(settings[field]) || settings[field] < 0) {
      problems.push(`${field} must be a non-negative number, got ${settings[field]}`);
    }
  }
  for (const [index, secret] of (options.secrets ?? []).entries()) {
    if (!/^whsec_[A-Za-z0-9+/]+=*$/.test(secret))
      problems.push(`secrets[${index}] must look like whsec_<base64>`);
  }
  if (problems.length > 0) throw new RangeError(`invalid mock receiver options: ${problems.join('; ')}`);
  return settings;
}

function emptyStats(): Omit<MockReceiverStats, 'uniqueDelivered'> {
  return { requests: 0, delivered: 0, failed: 0, invalidSignatures: 0, duplicateDeliveries: 0 };
}

function headerOf(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function decodeSecret(secret: string): Buffer {
  return Buffer.from(secret.slice('whsec_'.length), 'base64');
}

/**
 * Standard Webhooks: HMAC-SHA256 over `id.timestamp.body` with the base64-decoded secret, any of the
 * space-separated `v1,<base64>` signatures may match, and the timestamp must be recent.
 */
function verifySignature(
  keys: readonly Buffer[],
  webhookId: string | undefined,
  timestampSeconds: number | undefined,
  signatureHeader: string | undefined,
  body: Buffer,
  clock: { nowSeconds: number; toleranceSeconds: number },
): boolean {
  if (webhookId === undefined || timestampSeconds === undefined || signatureHeader === undefined)
    return false;
  if (Math.abs(clock.nowSeconds - timestampSeconds) > clock.toleranceSeconds) return false;
  const offered = signatureHeader
    .split(' ')
    .filter((part) => part.startsWith(signaturePrefix))
    .map((part) => Buffer.from(part.slice(signaturePrefix.length), 'base64'));
  return keys.some((key) => {
    const expected = createHmac('sha256', key)
      .update(`${webhookId}.${timestampSeconds}.`)
      .update(body)
      .digest();
    return offered.some(
      (signature) => signature.length === expected.length && timingSafeEqual(signature, expected),
    );
  });
}
