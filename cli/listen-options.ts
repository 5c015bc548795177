import { parseArgs } from 'node:util';
import type { Env } from '../common/config.js';
import { eventTypeGlobPattern } from '../common/event-type-matcher.js';
import { devSsrfAllowedCidrs } from './dev-command.js';

export const listenUsage = `usage: sluice listen [options]

A webhook receiver on this machine, for development. It subscribes itself through the gateway's
admin API, verifies the Standard Webhooks signature of every delivery and prints it: event type,
webhook-id, attempt, signature verdict, the answer given and the JSON body. Ctrl-C deletes the
subscription it created.

  --events GLOBS        event types to subscribe to, comma-separated globs (default: every type)
  --port N              port to listen on (default 9000; 0 = any free port, printed)
  --host ADDRESS        address to bind (default 127.0.0.1)
  --url URL             the URL the subscription points to (default http://127.0.0.1:PORT/webhooks);
                        for a gateway that reaches this machine by another name
  --gateway URL         the gateway's public URL (default http://127.0.0.1:8080)
  --api-key KEY         an admin API key (default: $SLUICE_API_KEY, then .sluice/dev/api-key.txt,
                        which \`sluice dev\` writes)
  --keep                keep the subscription when this command stops
  --subscription ID     use an existing subscription instead of creating one (with --secret)
  --secret whsec_...    the signing secret of the subscription that points here; with it nothing
                        is created, and only verification needs it
  --status CODE         answer every verified delivery with this status (default 200)
  --fail-attempts N     answer the first N attempts of each event with --status (default 500),
                        later ones with 200: watch the retry tiers at work
  --delay-ms MS         wait this long before answering (past the worker's attempt timeout,
                        SLUICE_DELIVERY_ATTEMPT_TIMEOUT_MS, the attempt times out)
  --help                this text

A delivery whose signature does not verify is answered 400, as a receiver should. The attempt
number is how many times this listener has received that webhook-id.

The gateway must let webhooks reach this machine: \`sluice dev\` sets
SLUICE_SSRF_ALLOWED_CIDRS=${devSsrfAllowedCidrs} when it is unset; elsewhere set it yourself.`;

export interface ListenOptions {
  port: number;
  host: string;
  /** The subscription's URL; undefined: derived from the bound port. */
  url: string | undefined;
  gatewayUrl: string;
  /** Undefined: read from .sluice/dev/api-key.txt when a subscription is to be created. */
  apiKey: string | undefined;
  eventTypes: string[];
  keep: boolean;
  subscriptionId: string | undefined;
  /** Given: verify with it and create nothing. */
  secret: string | undefined;
  answer: AnswerOptions;
}

export interface AnswerOptions {
  /** Undefined: 200, or 500 for the attempts that `failAttempts` fails. */
  status: number | undefined;
  failAttempts: number;
  delayMs: number;
}

export const defaultListenPort = 9000;
export const defaultGatewayUrl = 'http://127.0.0.1:8080';

/** The options of `sluice listen`, or every problem with them at once; `help` when asked for. */
export function parseListenArgs(
  args: string[],
  env: Env,
): ListenOptions | { help: true } | { problems: string[] } {
  let values;
  try {
    values = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean' },
        port: { type: 'string' },
        host: { type: 'string' },
        url: { type: 'string' },
        gateway: { type: 'string' },
        'api-key': { type: 'string' },
        events: { type: 'string' },
        keep: { type: 'boolean' },
        subscription: { type: 'string' },
        secret: { type: 'string' },
        status: { type: 'string' },
        'fail-attempts': { type: 'string' },
        'delay-ms': { type: 'string' },
      },
    }).values;
  } catch (error) {
    return { problems: [(error as Error).message] };
  }
  if (values.help) return { help: true };
  const problems: string[] = [];
  const integer = (flag: string, text: string | undefined, fallback: number, min: number, max: number) => {
    if (text === undefined) return fallback;
    const value = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
    if (!(value >= min && value <= max)) {
      problems.push(`--${flag} must be a whole number from ${min} to ${max}, got ${text}`);
      return fallback;
    }
    return value;
  };
  const port = integer('port', values.port, defaultListenPort, 0, 65535);
  const statusText = values.status;
  const status = statusText === undefined ? undefined : integer('status', statusText, 200, 200, 599);
  const failAttempts = integer('fail-attempts', values['fail-attempts'], 0, 0, 1000);
  const delayMs = integer('delay-ms', values['delay-ms'], 0, 0, 600_000);
  if (failAttempts > 0 && status !== undefined && status < 300) {
    problems.push(`--status must be a failure (300 to 599) with --fail-attempts, got ${status}`);
  }

  const eventTypes = (values.events ?? '*')
    .split(',')
    .map((glob) => glob.trim())
    .filter((glob) => glob !== '');
  const badGlobs = eventTypes.filter((glob) => !eventTypeGlobPattern.test(glob));
  if (eventTypes.length === 0 || badGlobs.length > 0) {
    problems.push(
      `--events must be comma-separated event types or globs such as account.*, got ${values.events}`,
    );
  }
  const gatewayUrl = (values.gateway ?? defaultGatewayUrl).replace(/\/+$/, '');
  if (!isHttpUrl(gatewayUrl)) problems.push(`--gateway must be an http(s) URL, got ${values.gateway}`);
  if (values.url !== undefined && !isHttpUrl(values.url)) {
    problems.push(`--url must be an http(s) URL, got ${values.url}`);
  }
  const secret = values.secret;
  if (secret !== undefined && !secret.startsWith('whsec_')) {
    // Never quote it: it is a secret.
    problems.push('--secret must be the subscription’s whsec_… signing secret');
  }
  if (values.subscription !== undefined && secret === undefined) {
    problems.push(
      '--subscription needs --secret: the signing secret is shown once, when the subscription is created or rotated',
    );
  }
  if (problems.length > 0) return { problems };
  return {
    port,
    host: values.host ?? '127.0.0.1',
    url: values.url,
    gatewayUrl,
    apiKey: values['api-key'] ?? (env.SLUICE_API_KEY?.trim() || undefined),
    eventTypes,
    keep: values.keep ?? false,
    subscriptionId: values.subscription,
    secret,
    answer: { status, failAttempts, delayMs },
  };
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** The URL a subscription should use to reach a listener bound to `host:port`. */
export function listenerUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}/webhooks`;
}
