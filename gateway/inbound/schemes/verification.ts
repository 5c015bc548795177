import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** How a source's requests are verified; secrets are kept apart (see Source). */
export type VerificationConfig =
  | { readonly scheme: 'stripe'; readonly toleranceMs: number }
  | { readonly scheme: 'github' }
  | { readonly scheme: 'shopify' }
  | { readonly scheme: 'standard-webhooks'; readonly toleranceMs: number }
  | HmacVerificationConfig
  | { readonly scheme: 'basic' }
  | { readonly scheme: 'header-token'; readonly header: string; readonly prefix: string };

export type HmacAlgorithm = 'sha256' | 'sha512' | 'sha1';

/** The generic scheme: an HMAC of the body (or `timestamp.body`) in one header. */
export interface HmacVerificationConfig {
  readonly scheme: 'hmac';
  /** Lower-case header name carrying the signature. */
  readonly header: string;
  readonly algorithm: HmacAlgorithm;
  readonly encoding: 'hex' | 'base64';
  /** Stripped from the header value before decoding, e.g. `sha256=`; may be empty. */
  readonly prefix: string;
  /** `timestamp.body`: the signed text is `<timestamp header>.<body>` and the timestamp must be fresh. */
  readonly signed: 'body' | 'timestamp.body';
  /** Lower-case header with the Unix timestamp in seconds; required when `signed` is `timestamp.body`. */
  readonly timestampHeader: string | undefined;
  readonly toleranceMs: number;
}

export type Scheme = VerificationConfig['scheme'];
export const schemes: readonly Scheme[] = [
  'stripe',
  'github',
  'shopify',
  'standard-webhooks',
  'hmac',
  'basic',
  'header-token',
];

/** Why a request was refused; a closed list, used as a metric label and in the 401 problem. */
export type VerificationFailure =
  'missing-signature' | 'malformed-signature' | 'stale-timestamp' | 'bad-signature';

export type VerificationResult = { ok: true } | { ok: false; reason: VerificationFailure };

/** What every scheme reads: the exact bytes received, the head, the source's active secrets. */
export interface VerificationInput {
  /** The raw body, exactly as received: never a re-serialised parse. */
  readonly body: Buffer;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string>>;
  /** The current secret first; during a rotation the previous one too. */
  readonly secrets: readonly string[];
  readonly nowMs: number;
}

export const verified: VerificationResult = Object.freeze({ ok: true });
export const refused = (reason: VerificationFailure): VerificationResult => ({ ok: false, reason });

/**
 * Compares two byte strings in time that depends only on `expected`'s length.
 * `timingSafeEqual` throws on different lengths, so a length mismatch compares `expected` with
 * itself (same work) and answers false.
 */
export function bytesEqual(expected: Buffer, given: Buffer): boolean {
  if (expected.length !== given.length) {
    timingSafeEqual(expected, expected);
    return false;
  }
  return timingSafeEqual(expected, given);
}

/**
 * Compares two texts of any lengths in constant time: their SHA-256 digests have one length, so
 * neither the length nor the first differing byte of a secret leaks (basic auth, header tokens).
 */
export function textsEqual(expected: string, given: string): boolean {
  const a = createHash('sha256').update(expected, 'utf8').digest();
  const b = createHash('sha256').update(given, 'utf8').digest();
  return timingSafeEqual(a, b);
}

export function hmac(
  algorithm: HmacAlgorithm,
  key: string | Buffer,
  parts: ReadonlyArray<string | Buffer>,
): Buffer {
  const mac = createHmac(algorithm, key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

const hexPattern = /^(?:[0-9a-fA-F]{2})+$/;
const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict decoding: Buffer.from silently skips bad characters, which would accept a mangled value. */
export function decodeHex(text: string): Buffer | undefined {
  return hexPattern.test(text) ? Buffer.from(text, 'hex') : undefined;
}

export function decodeBase64(text: string): Buffer | undefined {
  return text.length > 0 && base64Pattern.test(text) ? Buffer.from(text, 'base64') : undefined;
}

/** A Unix timestamp in whole seconds, as providers send it; undefined when it is not one. */
export function parseUnixSeconds(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,12}$/.test(text)) return undefined;
  return Number(text);
}

/** Whether `seconds` lies within `toleranceMs` of now, in either direction (replay protection). */
export function isFresh(seconds: number, nowMs: number, toleranceMs: number): boolean {
  return Math.abs(nowMs - seconds * 1000) <= toleranceMs;
}
