import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Env } from '../common/config.js';
import { repoRoot } from './stack/paths.js';

export const eventsShowUsage = `usage: sluice events show <event-id> [--attempts] [--json]

What happened to an event: its status with each subscription (delivered, retrying with the next
time, dead-lettered, filtered, disabled), from the delivery log through the gateway's API
(GET /v1/events/{id}; with --attempts also GET /v1/events/{id}/attempts).
  --attempts  list every attempt (status or error, latency, outcome, response body sample)
  --json      print the API's answers as they are
Reads SLUICE_URL (default http://127.0.0.1:8080) and SLUICE_API_KEY (default: .sluice/dev/api-key.txt,
which \`sluice dev\` writes). A producer key sees only its own events.`;

export const dlqListUsage = `usage: sluice dlq list [--subscription ID] [--reason R] [--since TIME] [--until TIME]
                       [--limit N] [--cursor C] [--json]

Dead letters, newest first, from the delivery log through the gateway's API (GET /v1/dead-letters;
admin key). TIME is RFC 3339. Prints one page and, when there is more, the --cursor of the next.
Reads SLUICE_URL and SLUICE_API_KEY as \`sluice events show\` does.`;

interface Client {
  get(path: string): Promise<{ status: number; body: unknown }>;
}

function client(env: Env): Client {
  const base = (env.SLUICE_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  const devKey = join(repoRoot(), '.sluice', 'dev', 'api-key.txt');
  const apiKey =
    env.SLUICE_API_KEY?.trim() || (existsSync(devKey) ? readFileSync(devKey, 'utf8').trim() : undefined);
  if (!apiKey) throw new Error('set SLUICE_API_KEY (an API key of the gateway at SLUICE_URL)');
  return {
    async get(path) {
      const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${apiKey}` } });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // Not JSON: shown as it is.
      }
      return { status: response.status, body };
    },
  };
}

type Json = Record<string, unknown>;

/** A problem answer as one line: `404 SLUICE_NOT_FOUND: no attempt of event … is recorded`. */
function problemLine(status: number, body: unknown): string {
  const problem = (typeof body === 'object' && body !== null ? body : {}) as Json;
  return `${status} ${String(problem.code ?? '')}: ${String(problem.detail ?? JSON.stringify(body))}`;
}

function outcomeOf(attempt: Json): string {
  const answer = attempt.statusCode !== null ? String(attempt.statusCode) : String(attempt.errorClass ?? '-');
  const latency = attempt.latencyMs === null ? '-' : `${Math.round(Number(attempt.latencyMs))} ms`;
  return `${answer} ${latency}`;
}

/** The status answer as a table: one line per subscription. */
export function formatEventStatus(status: Json): string[] {
  const lines = [`event ${String(status.id)}`];
  for (const entry of (status.subscriptions as Json[] | undefined) ?? []) {
    const last = entry.lastAttempt as Json;
    const next = entry.nextAttemptAt ? ` next ${String(entry.nextAttemptAt)}` : '';
    lines.push(
      `  ${String(entry.subscriptionId)}  ${String(entry.status)}${next}  attempts ${String(entry.attempts)}  last ${String(last.attemptedAt)} ${outcomeOf(last)}`,
    );
  }
  return lines;
}

export function formatAttempts(attempts: Json[]): string[] {
  return attempts.map((attempt) => {
    const body =
      attempt.responseBody === null ? '' : `  ${JSON.stringify(String(attempt.responseBody).slice(0, 80))}`;
    return `  ${String(attempt.attemptedAt)}  ${String(attempt.subscriptionId)} #${String(attempt.attempt)}  ${outcomeOf(attempt)}  ${String(attempt.outcome)}${body}`;
  });
}

export function formatDeadLetters(page: Json): string[] {
  const lines = ((page.deadLetters as Json[] | undefined) ?? []).map(
    (letter) =>
      `${String(letter.deadLetteredAt)}  ${String(letter.id)}  ${String(letter.subscriptionId ?? '(poison)')}  ${String(letter.eventId ?? '-')}  ${String(letter.reason)}  attempts ${String(letter.attempts)}  last ${String(letter.lastStatus ?? letter.lastError ?? '-')}`,
  );
  if (page.nextCursor) lines.push(`more: --cursor ${String(page.nextCursor)}`);
  return lines;
}

/** `sluice events show <id>`. */
export async function runEventsShow(args: readonly string[], env: Env): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: { attempts: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean' } },
  });
  const id = positionals[0];
  if (values.help || id === undefined || positionals.length > 1) {
    process.stderr.write(`${eventsShowUsage}\n`);
    return values.help ? 0 : 2;
  }
  const api = client(env);
  const path = `/v1/events/${encodeURIComponent(id)}`;
  const status = await api.get(path);
  if (status.status !== 200) {
    process.stderr.write(`${problemLine(status.status, status.body)}\n`);
    return 1;
  }
  const attempts = values.attempts ? await api.get(`${path}/attempts`) : undefined;
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify(attempts ? { status: status.body, attempts: attempts.body } : status.body)}\n`,
    );
    return 0;
  }
  const lines = formatEventStatus(status.body as Json);
  if (attempts?.status === 200)
    lines.push('attempts', ...formatAttempts((attempts.body as Json).attempts as Json[]));
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/** `sluice dlq list`. */
export async function runDlqList(args: readonly string[], env: Env): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      subscription: { type: 'string' },
      reason: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stderr.write(`${dlqListUsage}\n`);
    return 0;
  }
  const query = new URLSearchParams();
  for (const name of ['subscription', 'reason', 'since', 'until', 'limit', 'cursor'] as const) {
    const value = values[name];
    if (value !== undefined) query.set(name, value);
  }
  const text = query.toString();
  const page = await client(env).get(`/v1/dead-letters${text ? `?${text}` : ''}`);
  if (page.status !== 200) {
    process.stderr.write(`${problemLine(page.status, page.body)}\n`);
    return 1;
  }
  const lines = values.json ? [JSON.stringify(page.body)] : formatDeadLetters(page.body as Json);
  if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
