import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { isSluiceError } from './errors.js';
import {
  generateWebhookSecret,
  isValidWebhookSecret,
  signWebhook,
  webhookHeaders,
} from './webhook-signer.js';

const body = JSON.stringify({
  type: 'order.created',
  timestamp: '2024-05-01T12:00:00Z',
  data: { id: 'o-1' },
});
const nowSeconds = () => Math.floor(Date.now() / 1000);

function headersFor(signature: string, msgId: string, timestampSeconds: number): Record<string, string> {
  return {
    'webhook-id': msgId,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': signature,
  };
}

describe('signWebhook', () => {
  it('produces a signature the standardwebhooks library verifies', () => {
    const secret = generateWebhookSecret();
    const timestampSeconds = nowSeconds();
    const signature = signWebhook({ msgId: 'evt_1', timestampSeconds, body, secrets: [secret] });

    expect(signature).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, headersFor(signature, 'evt_1', timestampSeconds))).toEqual(
      JSON.parse(body),
    );
  });

  it('signs with every active secret during rotation so both old and new verify', () => {
    const oldSecret = generateWebhookSecret();
    const newSecret = generateWebhookSecret();
    const timestampSeconds = nowSeconds();
    const signature = signWebhook({
      msgId: 'evt_2',
      timestampSeconds,
      body,
      secrets: [oldSecret, newSecret],
    });
    const headers = headersFor(signature, 'evt_2', timestampSeconds);

    expect(signature.split(' ')).toHaveLength(2);
    expect(() => new Webhook(oldSecret).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(newSecret).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(generateWebhookSecret()).verify(body, headers)).toThrow(/signature/i);
  });

  it('fails verification when the body, id or timestamp was tampered with', () => {
    const secret = generateWebhookSecret();
    const timestampSeconds = nowSeconds();
    const signature = signWebhook({ msgId: 'evt_3', timestampSeconds, body, secrets: [secret] });
    const webhook = new Webhook(secret);

    expect(() =>
      webhook.verify(body.replace('o-1', 'o-2'), headersFor(signature, 'evt_3', timestampSeconds)),
    ).toThrow(/signature/i);
    expect(() => webhook.verify(body, headersFor(signature, 'evt_4', timestampSeconds))).toThrow(
      /signature/i,
    );
    expect(() => webhook.verify(body, headersFor(signature, 'evt_3', timestampSeconds - 1))).toThrow(
      /signature/i,
    );
  });

  it('signs a byte body exactly like the same text', () => {
    const secret = generateWebhookSecret();
    const input = { msgId: 'evt_5', timestampSeconds: nowSeconds(), secrets: [secret] };
    const fromBytes = signWebhook({ ...input, body: Buffer.from(body, 'utf8') });

    expect(fromBytes).toBe(signWebhook({ ...input, body }));
    expect(() =>
      new Webhook(secret).verify(Buffer.from(body), headersFor(fromBytes, 'evt_5', input.timestampSeconds)),
    ).not.toThrow();
  });

  it('reproduces the Standard Webhooks specification example', () => {
    // The example signature printed in the Standard Webhooks specification.
    expect(
      signWebhook({
        msgId: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
        timestampSeconds: 1614265330,
        body: '{"test": 2432232314}',
        secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
      }),
    ).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('keys the HMAC with the base64-decoded secret, not the secret text', () => {
    const key = Buffer.alloc(24, 7);
    const expected = createHmac('sha256', key).update('evt_8.1700000000.{}').digest('base64');

    expect(
      signWebhook({
        msgId: 'evt_8',
        timestampSeconds: 1700000000,
        body: '{}',
        secrets: [`whsec_${key.toString('base64')}`],
      }),
    ).toBe(`v1,${expected}`);
  });

  it('throws a fault naming only the position of a malformed secret', () => {
    const good = generateWebhookSecret();
    let caught: unknown;
    try {
      signWebhook({ msgId: 'evt_6', timestampSeconds: 1, body, secrets: [good, 'whsec_not base64!'] });
    } catch (error) {
      caught = error;
    }
    expect(isSluiceError(caught, 'SLUICE_INTERNAL')).toBe(true);
    expect((caught as Error).message).toContain('secrets[1]');
    expect((caught as Error).message).not.toContain('not base64');
  });

  it('refuses an empty secret list and a fractional timestamp', () => {
    expect(() => signWebhook({ msgId: 'e', timestampSeconds: 1, body, secrets: [] })).toThrow(
      /at least one secret/,
    );
    expect(() =>
      signWebhook({ msgId: 'e', timestampSeconds: 1.5, body, secrets: [generateWebhookSecret()] }),
    ).toThrow(/timestampSeconds/);
  });
});

describe('webhookHeaders', () => {
  it('returns id, timestamp and signature headers that verify together', () => {
    const secret = generateWebhookSecret();
    const headers = webhookHeaders({
      msgId: 'evt_7',
      timestampSeconds: nowSeconds(),
      body,
      secrets: [secret],
    });

    expect(Object.keys(headers).sort()).toEqual(['webhook-id', 'webhook-signature', 'webhook-timestamp']);
    expect(() => new Webhook(secret).verify(body, headers)).not.toThrow();
  });
});

describe('generateWebhookSecret', () => {
  it('returns distinct whsec_ secrets of 32 random bytes', () => {
    const first = generateWebhookSecret();
    const second = generateWebhookSecret();

    expect(first).toMatch(/^whsec_/);
    expect(Buffer.from(first.slice('whsec_'.length), 'base64')).toHaveLength(32);
    expect(first).not.toBe(second);
    expect(isValidWebhookSecret(first)).toBe(true);
  });
});

describe('isValidWebhookSecret', () => {
  it.each([
    ['no prefix', Buffer.alloc(32).toString('base64'), false],
    ['too short (23 bytes)', `whsec_${Buffer.alloc(23).toString('base64')}`, false],
    ['too long (65 bytes)', `whsec_${Buffer.alloc(65).toString('base64')}`, false],
    ['not canonical base64', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw!', false],
    ['24 bytes', `whsec_${Buffer.alloc(24).toString('base64')}`, true],
    ['64 bytes', `whsec_${Buffer.alloc(64).toString('base64')}`, true],
  ])('%s → %s', (_label, secret, valid) => {
    expect(isValidWebhookSecret(secret)).toBe(valid);
  });
});
