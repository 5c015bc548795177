import type { AnswerOptions } from './listen-options.js';

/** Whether a delivery's Standard Webhooks signature verified, and why not. */
export type SignatureVerdict = { ok: true } | { ok: false; reason: string };

export interface ChosenAnswer {
  status: number;
  /** Why this status, when it is not a plain 200. */
  why: string | undefined;
}

/**
 * How `sluice listen` answers one attempt: 400 when the signature does not verify (a receiver must
 * not act on it), else `--status`, or with `--fail-attempts N` a failure for attempts 1..N of an
 * event and 200 after.
 */
export function chooseAnswer(
  options: AnswerOptions,
  attempt: number,
  verdict: SignatureVerdict,
): ChosenAnswer {
  if (!verdict.ok) return { status: 400, why: 'signature does not verify' };
  if (options.failAttempts > 0) {
    if (attempt <= options.failAttempts) {
      return {
        status: options.status ?? 500,
        why: `--fail-attempts ${options.failAttempts}: failing attempt ${attempt}`,
      };
    }
    return { status: 200, why: `--fail-attempts ${options.failAttempts}: attempt ${attempt} succeeds` };
  }
  return { status: options.status ?? 200, why: options.status === undefined ? undefined : '--status' };
}

/**
 * Attempts seen per webhook-id. Sluice sends no attempt number; the id is the same on every
 * attempt of an event, so counting ids is the receiver's view of the retries. Bounded: a listener
 * left running forgets the oldest ids.
 */
export class AttemptCounter {
  private readonly seen = new Map<string, number>();

  constructor(private readonly maxIds = 10_000) {}

  /** Counts one more attempt of `webhookId` and returns its number (1 = first). */
  next(webhookId: string): number {
    const attempt = (this.seen.get(webhookId) ?? 0) + 1;
    this.seen.delete(webhookId);
    this.seen.set(webhookId, attempt);
    if (this.seen.size > this.maxIds) this.seen.delete(this.seen.keys().next().value!);
    return attempt;
  }
}

export interface PrintedDelivery {
  receivedAt: Date;
  method: string;
  path: string;
  webhookId: string | undefined;
  attempt: number;
  verdict: SignatureVerdict;
  answer: ChosenAnswer;
  /** Time between receiving the request and answering it. */
  answeredAfterMs: number;
  /** The sender closed the connection before the answer was written (its attempt timed out). */
  senderGone: boolean;
  body: string;
}

const ansi = {
  bold: '\u001b[1m',
  dim: '\u001b[2m',
  red: '\u001b[31m',
  green: '\u001b[32m',
  yellow: '\u001b[33m',
  cyan: '\u001b[36m',
  reset: '\u001b[0m',
};
type Style = keyof typeof ansi;

/** One delivery as `sluice listen` prints it, ending with a blank line; colours only when asked. */
export function formatDelivery(delivery: PrintedDelivery, colour: boolean): string {
  const paint = (style: Style, text: string) => (colour ? `${ansi[style]}${text}${ansi.reset}` : text);
  const parsed = parseJson(delivery.body);
  const eventType =
    parsed.ok && isRecord(parsed.value) && typeof parsed.value.type === 'string'
      ? parsed.value.type
      : '(no event type)';
  const time = localTime(delivery.receivedAt);
  const lines = [
    `${paint('dim', time)} ${paint('bold', eventType)}  ${paint('cyan', `attempt ${delivery.attempt}`)}  ` +
      `webhook-id ${delivery.webhookId ?? '(missing)'}`,
  ];
  const signature = delivery.verdict.ok
    ? paint('green', 'verified')
    : `${paint('red', 'INVALID')} (${delivery.verdict.reason})`;
  lines.push(`  signature  ${signature}`);
  const { status, why } = delivery.answer;
  const statusText = paint(status < 300 ? 'green' : status < 500 ? 'yellow' : 'red', String(status));
  let answered = `  answered   ${statusText}`;
  if (why !== undefined) answered += ` (${why})`;
  answered += ` after ${Math.round(delivery.answeredAfterMs)} ms`;
  if (delivery.senderGone) answered += paint('yellow', ', but the sender had hung up (attempt timeout?)');
  lines.push(answered);
  if (delivery.method !== 'POST' || delivery.path !== '/webhooks') {
    lines.push(`  request    ${delivery.method} ${delivery.path}`);
  }
  const body = parsed.ok ? JSON.stringify(parsed.value, null, 2) : delivery.body;
  lines.push(
    ...(body === '' ? ['(empty body)'] : body.split('\n')).map((line) => `  ${paint('dim', '│')} ${line}`),
  );
  return `${lines.join('\n')}\n\n`;
}

/** HH:MM:SS.mmm in local time, as the logs of `sluice dev` show it on a terminal. */
export function localTime(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
