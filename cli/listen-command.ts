import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import type { Env } from '../common/config.js';
import {
  AttemptCounter,
  chooseAnswer,
  formatDelivery,
  type PrintedDelivery,
  type SignatureVerdict,
} from './listen-output.js';
import { devSsrfAllowedCidrs } from './dev-command.js';
import { listenerUrl, listenUsage, parseListenArgs, type ListenOptions } from './listen-options.js';
import { repoRoot } from './stack/paths.js';

/** Larger bodies are answered 413 unread; Sluice's events are far smaller. */
const maxBodyBytes = 16 * 1024 * 1024;
const gatewayTimeoutMs = 10_000;

const say = (line: string) => process.stderr.write(`sluice listen: ${line}\n`);

/**
 * `sluice listen`: a webhook receiver for development (like `stripe listen`). Subscribes itself
 * through the gateway (or uses a subscription given with its secret), prints every delivery with
 * its signature verdict, and on Ctrl-C or SIGTERM deletes the subscription it created.
 */
export async function runListen(args: string[], env: Env): Promise<number> {
  const parsed = parseListenArgs(args, env);
  if ('help' in parsed) {
    process.stdout.write(`${listenUsage}\n`);
    return 0;
  }
  if ('problems' in parsed) {
    for (const problem of parsed.problems) say(problem);
    say('see: sluice listen --help');
    return 2;
  }
  const options = parsed;
  const apiKey = options.secret === undefined ? (options.apiKey ?? devApiKey()) : options.apiKey;
  if (options.secret === undefined && apiKey === undefined) {
    say(
      'an admin API key is needed to create the subscription: --api-key, SLUICE_API_KEY, or ' +
        '.sluice/dev/api-key.txt, which `node bin/sluice.js dev` writes',
    );
    return 2;
  }

  const stopped = stopSignal();
  const colour = process.stdout.isTTY === true && !env.NO_COLOR;
  let webhook: Webhook | undefined = options.secret === undefined ? undefined : new Webhook(options.secret);
  const server = createReceiver(
    options,
    () => webhook,
    (delivery) => {
      process.stdout.write(formatDelivery(delivery, colour));
    },
  );
  let port: number;
  try {
    port = await listen(server, options.port, options.host);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    say(
      code === 'EADDRINUSE'
        ? `port ${options.port} is in use: pick another with --port, or --port 0 for any free one`
        : `cannot listen on ${options.host}:${options.port}: ${(error as Error).message}`,
    );
    return 1;
  }
  const url = options.url ?? listenerUrl(options.host, port);
  say(`listening on ${options.host}:${port}; webhooks to ${url}`);

  let created: { id: string; secret: string } | undefined;
  if (options.secret === undefined) {
    try {
      created = await createSubscription(options, apiKey!, url);
    } catch (error) {
      say((error as Error).message);
      await close(server);
      return 1;
    }
    webhook = new Webhook(created.secret);
    say(`created subscription ${created.id} for ${options.eventTypes.join(', ')} at ${options.gatewayUrl}`);
    say(`signing secret ${created.secret}`);
    say(
      'delivery workers pick the subscription up within seconds; events sent before that are not delivered to it',
    );
  } else {
    say(
      `verifying with the given secret${options.subscriptionId ? ` (subscription ${options.subscriptionId})` : ''}; nothing created`,
    );
  }
  say(
    `ready; Ctrl-C stops${created && !options.keep ? ' and deletes the subscription' : ''}` +
      (created && options.keep ? ' (--keep: the subscription stays)' : ''),
  );

  const signal = await stopped;
  say(`${signal}: stopping`);
  await close(server);
  if (created && !options.keep) {
    try {
      await deleteSubscription(options.gatewayUrl, apiKey!, created.id);
      say(`deleted subscription ${created.id}`);
    } catch (error) {
      say(
        `could not delete subscription ${created.id}: ${(error as Error).message}; ` +
          `delete it with DELETE ${options.gatewayUrl}/v1/subscriptions/${created.id}`,
      );
      return 1;
    }
  }
  return 0;
}

/**
 * Resolves with the first SIGINT or SIGTERM. A second one exits at once, for when deleting the
 * subscription hangs on an unreachable gateway.
 */
function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (received) process.exit(130);
      received = true;
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** The HTTP side: reads each request, verifies it, answers as the options say, reports it. */
function createReceiver(
  options: ListenOptions,
  verifier: () => Webhook | undefined,
  report: (delivery: PrintedDelivery) => void,
): Server {
  const attempts = new AttemptCounter();
  return createServer((req, res) => {
    const receivedAt = new Date();
    const startedMs = performance.now();
    let senderGone = false;
    res.once('close', () => {
      if (!res.writableFinished) senderGone = true;
    });
    readBody(req).then(
      async (body) => {
        if (body === undefined) {
          res.writeHead(413, { connection: 'close' }).end();
          return;
        }
        const webhookId = header(req, 'webhook-id');
        const attempt = attempts.next(webhookId ?? '');
        const verdict = verify(verifier(), req, body);
        const answer = chooseAnswer(options.answer, attempt, verdict);
        if (options.answer.delayMs > 0) {
          await new Promise((resolve) => setTimeout(resolve, options.answer.delayMs));
        }
        if (!senderGone) {
          respond(res, answer.status, answer.why);
        }
        report({
          receivedAt,
          method: req.method ?? '?',
          path: req.url ?? '/',
          webhookId,
          attempt,
          verdict,
          answer,
          answeredAfterMs: performance.now() - startedMs,
          senderGone,
          body: body.toString('utf8'),
        });
      },
      () => res.destroy(),
    );
  });
}

function respond(res: ServerResponse, status: number, why: string | undefined): void {
  res
    .writeHead(status, { 'content-type': 'application/json' })
    .end(JSON.stringify({ answeredBy: 'sluice listen', status, ...(why ? { why } : {}) }));
}

/** The request body, or undefined past maxBodyBytes. */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req) {
    bytes += (chunk as Buffer).length;
    if (bytes > maxBodyBytes) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The signature verdict by the independent `standardwebhooks` package, not Sluice's own signer. */
function verify(webhook: Webhook | undefined, req: IncomingMessage, body: Buffer): SignatureVerdict {
  if (webhook === undefined) return { ok: false, reason: 'no signing secret yet' };
  const headers: Record<string, string> = {};
  for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
    const value = header(req, name);
    if (value !== undefined) headers[name] = value;
  }
  try {
    webhook.verify(body.toString('utf8'), headers);
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** The key `sluice dev` made for this checkout, if it made one. */
function devApiKey(): string | undefined {
  const file = join(repoRoot(), '.sluice', 'dev', 'api-key.txt');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() || undefined : undefined;
}

async function createSubscription(
  options: ListenOptions,
  apiKey: string,
  url: string,
): Promise<{ id: string; secret: string }> {
  const response = await gatewayRequest(options.gatewayUrl, apiKey, 'POST', '/v1/subscriptions', {
    url,
    eventTypes: options.eventTypes,
    description: `sluice listen at ${url}`,
  });
  const body = response.body as { id?: unknown; secret?: unknown };
  if (response.status !== 201 || typeof body.id !== 'string' || typeof body.secret !== 'string') {
    throw new Error(`the gateway refused the subscription: ${describeProblem(response)}`);
  }
  return { id: body.id, secret: body.secret };
}

async function deleteSubscription(gatewayUrl: string, apiKey: string, id: string): Promise<void> {
  const response = await gatewayRequest(gatewayUrl, apiKey, 'DELETE', `/v1/subscriptions/${id}`);
  // 404: gone already (deleted by hand); nothing left to clean up.
  if (response.status !== 204 && response.status !== 404) throw new Error(describeProblem(response));
}

async function gatewayRequest(
  gatewayUrl: string,
  apiKey: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  let response: Response;
  try {
    response = await fetch(`${gatewayUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${apiKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(gatewayTimeoutMs),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new Error(
      `cannot reach the gateway at ${gatewayUrl} (${cause}): is it running? ` +
        '`node bin/sluice.js dev` starts one; --gateway points elsewhere',
    );
  }
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // Not JSON: reported as text.
  }
  return { status: response.status, body: parsed };
}

/** A gateway answer in one line: status, problem code and detail, and what to do about it. */
export function describeProblem(response: { status: number; body: unknown }): string {
  const problem = (typeof response.body === 'object' && response.body !== null ? response.body : {}) as {
    code?: string;
    detail?: string;
    title?: string;
    errors?: Array<{ field?: string; message?: string }>;
  };
  let text = `${response.status} ${problem.code ?? ''} ${problem.detail ?? problem.title ?? String(response.body ?? '')}`;
  if (problem.errors?.length) text += `: ${problem.errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`;
  const hints: Record<string, string> = {
    SLUICE_URL_FORBIDDEN:
      `the gateway and the delivery workers must allow this address: SLUICE_SSRF_ALLOWED_CIDRS=${devSsrfAllowedCidrs} ` +
      '(`sluice dev` sets it when unset)',
    SLUICE_UNAUTHENTICATED: 'the API key is not one the gateway knows (--api-key, SLUICE_API_KEY)',
    SLUICE_FORBIDDEN:
      'managing subscriptions needs an admin API key or one bound to a tenant (sluice keys create --tenant)',
  };
  const hint = problem.code === undefined ? undefined : hints[problem.code];
  return hint === undefined
    ? text.replace(/\s+/g, ' ').trim()
    : `${text.replace(/\s+/g, ' ').trim()}. Hint: ${hint}`;
}
