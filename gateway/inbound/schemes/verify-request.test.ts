import { createHmac } from 'node:crypto';
import { sign as githubSign } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { verifyRequest } from './verify-request.js';
import type { VerificationConfig, VerificationInput } from './verification.js';

const nowMs = 1_790_000_000_000;
const nowSeconds = nowMs / 1000;
const body = Buffer.from('{"id":"evt_1","type":"payment_intent.succeeded","data":{"amount":1999}}');
const stripe = new Stripe('sk_test_unused');

function input(headers: Record<string, string>, secrets: string[], bytes: Buffer = body): VerificationInput {
  return { body: bytes, headers, secrets, nowMs };
}

/** The same bytes with one byte changed. */
function flipped(bytes: Buffer, at = 5): Buffer {
  const copy = Buffer.from(bytes);
  copy[at] = (copy[at] as number) ^ 1;
  return copy;
}

/** The same text with one character of the signature changed (still well-formed). */
function tampered(signature: string): string {
  const last = signature.at(-3) === 'A' ? 'B' : 'A';
  return `${signature.slice(0, -3)}${last}${signature.slice(-2)}`;
}

describe('stripe', () => {
  const config: VerificationConfig = { scheme: 'stripe', toleranceMs: 300_000 };
  const secret = 'whsec_test_stripe_secret';
  const header = (payload: Buffer, timestamp = nowSeconds, key = secret) =>
    stripe.webhooks.generateTestHeaderString({ payload: payload.toString('utf8'), secret: key, timestamp });

  it('verifies a header made by the stripe package', () => {
    expect(verifyRequest(config, input({ 'stripe-signature': header(body) }, [secret]))).toEqual({
      ok: true,
    });
  });
  it('accepts any of several v1 values and any active secret', () => {
    const good = header(body).split(',')[1];
    const value = `t=${nowSeconds},v1=${'0'.repeat(64)},${good},v0=abc`;
    expect(verifyRequest(config, input({ 'stripe-signature': value }, ['whsec_new', secret]))).toEqual({
      ok: true,
    });
  });
  it('refuses a changed body, a wrong secret, a stale timestamp', () => {
    expect(
      verifyRequest(config, input({ 'stripe-signature': header(body) }, [secret], flipped(body))),
    ).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
    expect(verifyRequest(config, input({ 'stripe-signature': header(body) }, ['whsec_other']))).toMatchObject(
      {
        reason: 'bad-signature',
      },
    );
    const stale = header(body, nowSeconds - 301);
    expect(verifyRequest(config, input({ 'stripe-signature': stale }, [secret]))).toMatchObject({
      reason: 'stale-timestamp',
    });
  });
  it('says what is wrong with a missing or malformed header', () => {
    expect(verifyRequest(config, input({}, [secret]))).toMatchObject({ reason: 'missing-signature' });
    expect(verifyRequest(config, input({ 'stripe-signature': 'garbage' }, [secret]))).toMatchObject({
      reason: 'malformed-signature',
    });
    expect(verifyRequest(config, input({ 'stripe-signature': 't=1,v1=zz' }, [secret]))).toMatchObject({
      reason: 'malformed-signature',
    });
  });
});

describe('github', () => {
  const config: VerificationConfig = { scheme: 'github' };
  const secret = 'It\u2019s a Secret to Everybody';

  it('verifies a signature made by @octokit/webhooks-methods, and refuses one changed byte', async () => {
    const signature = await githubSign(secret, body.toString('utf8'));
    expect(verifyRequest(config, input({ 'x-hub-signature-256': signature }, [secret]))).toEqual({
      ok: true,
    });
    expect(
      verifyRequest(config, input({ 'x-hub-signature-256': signature }, [secret], flipped(body))),
    ).toMatchObject({
      reason: 'bad-signature',
    });
    expect(
      verifyRequest(config, input({ 'x-hub-signature-256': tampered(signature) }, [secret])),
    ).toMatchObject({
      reason: 'bad-signature',
    });
  });
  it('refuses a header without sha256= or with a short digest', () => {
    expect(verifyRequest(config, input({ 'x-hub-signature-256': 'sha1=abcd' }, [secret]))).toMatchObject({
      reason: 'malformed-signature',
    });
    expect(verifyRequest(config, input({ 'x-hub-signature-256': 'sha256=abcd' }, [secret]))).toMatchObject({
      reason: 'bad-signature',
    });
  });
});

describe('shopify', () => {
  const config: VerificationConfig = { scheme: 'shopify' };
  const secret = 'shpss_client_secret';
  // Shopify's documented check: base64 of HMAC-SHA256 over the raw body with the client secret.
  const signature = createHmac('sha256', secret).update(body).digest('base64');

  it('verifies the documented HMAC and refuses a wrong secret or a non-base64 value', () => {
    expect(verifyRequest(config, input({ 'x-shopify-hmac-sha256': signature }, [secret]))).toEqual({
      ok: true,
    });
    expect(verifyRequest(config, input({ 'x-shopify-hmac-sha256': signature }, ['other']))).toMatchObject({
      reason: 'bad-signature',
    });
    expect(verifyRequest(config, input({ 'x-shopify-hmac-sha256': '***' }, [secret]))).toMatchObject({
      reason: 'malformed-signature',
    });
  });
});

describe('standard-webhooks', () => {
  const config: VerificationConfig = { scheme: 'standard-webhooks', toleranceMs: 300_000 };
  const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
  const headers = (timestampSeconds = nowSeconds, key = secret, bytes = body) => ({
    'webhook-id': 'msg_1',
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': new Webhook(key).sign(
      'msg_1',
      new Date(timestampSeconds * 1000),
      bytes.toString('utf8'),
    ),
  });

  it('verifies a signature made by the standardwebhooks package, with either secret of a rotation', () => {
    expect(verifyRequest(config, input(headers(), [secret]))).toEqual({ ok: true });
    const other = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
    expect(verifyRequest(config, input(headers(), [other, secret]))).toEqual({ ok: true });
    expect(verifyRequest(config, input(headers(), [other]))).toMatchObject({ reason: 'bad-signature' });
  });
  it('refuses a stale timestamp or a changed id, and verifies a body that is not JSON', () => {
    expect(verifyRequest(config, input(headers(nowSeconds - 301), [secret]))).toMatchObject({
      reason: 'stale-timestamp',
    });
    expect(verifyRequest(config, input({ ...headers(), 'webhook-id': 'msg_2' }, [secret]))).toMatchObject({
      reason: 'bad-signature',
    });
    const raw = Buffer.from('not json at all');
    expect(verifyRequest(config, input(headers(nowSeconds, secret, raw), [secret], raw))).toEqual({
      ok: true,
    });
  });
});

describe('hmac', () => {
  const base = {
    scheme: 'hmac',
    header: 'x-signature',
    algorithm: 'sha512',
    encoding: 'hex',
    prefix: 'sha512=',
    signed: 'body',
    timestampHeader: undefined,
    toleranceMs: 300_000,
  } as const;

  it('verifies a prefixed hex SHA-512 of the body', () => {
    const signature = `sha512=${createHmac('sha512', 'k').update(body).digest('hex')}`;
    expect(verifyRequest(base, input({ 'x-signature': signature }, ['k']))).toEqual({ ok: true });
    expect(verifyRequest(base, input({ 'x-signature': signature.slice(7) }, ['k']))).toMatchObject({
      reason: 'malformed-signature',
    });
  });
  it('verifies a base64 SHA-1 of timestamp.body and refuses it when stale', () => {
    const config = {
      ...base,
      algorithm: 'sha1',
      encoding: 'base64',
      prefix: '',
      signed: 'timestamp.body',
      timestampHeader: 'x-timestamp',
    } as const;
    const signatureAt = (seconds: number) =>
      createHmac('sha1', 'k').update(`${seconds}.`).update(body).digest('base64');
    const fresh = { 'x-signature': signatureAt(nowSeconds), 'x-timestamp': String(nowSeconds) };
    expect(verifyRequest(config, input(fresh, ['k']))).toEqual({ ok: true });
    const old = nowSeconds - 1000;
    const stale = { 'x-signature': signatureAt(old), 'x-timestamp': String(old) };
    expect(verifyRequest(config, input(stale, ['k']))).toMatchObject({ reason: 'stale-timestamp' });
    expect(verifyRequest(config, input({ 'x-signature': signatureAt(nowSeconds) }, ['k']))).toMatchObject({
      reason: 'malformed-signature',
    });
  });
});

describe('basic and header-token', () => {
  it('checks Basic credentials against each user:password secret', () => {
    const config: VerificationConfig = { scheme: 'basic' };
    const good = `Basic ${Buffer.from('acme:s3cret').toString('base64')}`;
    expect(verifyRequest(config, input({ authorization: good }, ['old:pw', 'acme:s3cret']))).toEqual({
      ok: true,
    });
    const bad = `Basic ${Buffer.from('acme:s3cres').toString('base64')}`;
    expect(verifyRequest(config, input({ authorization: bad }, ['acme:s3cret']))).toMatchObject({
      reason: 'bad-signature',
    });
    expect(verifyRequest(config, input({ authorization: 'Bearer x' }, ['acme:s3cret']))).toMatchObject({
      reason: 'malformed-signature',
    });
  });
  it('checks a static token after its prefix', () => {
    const config: VerificationConfig = { scheme: 'header-token', header: 'authorization', prefix: 'Bearer ' };
    expect(verifyRequest(config, input({ authorization: 'Bearer tok_123' }, ['tok_123']))).toEqual({
      ok: true,
    });
    expect(verifyRequest(config, input({ authorization: 'Bearer tok_124' }, ['tok_123']))).toMatchObject({
      reason: 'bad-signature',
    });
    expect(verifyRequest(config, input({}, ['tok_123']))).toMatchObject({ reason: 'missing-signature' });
  });
});
