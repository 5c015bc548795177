import {
  bytesEqual,
  decodeBase64,
  decodeHex,
  hmac,
  isFresh,
  parseUnixSeconds,
  refused,
  verified,
  type HmacVerificationConfig,
  type VerificationInput,
  type VerificationResult,
} from './verification.js';

/**
 * The generic shared-secret HMAC many payment processors use: one header holds
 * `<prefix><hex or base64 HMAC>` of the body, or of `<timestamp>.<body>` with the timestamp in a
 * header of its own (then checked against the tolerance). Keyed with the secret as text.
 */
export function verifyHmac(input: VerificationInput, config: HmacVerificationConfig): VerificationResult {
  const header = input.headers[config.header];
  if (header === undefined || header === '') return refused('missing-signature');
  if (!header.startsWith(config.prefix)) return refused('malformed-signature');
  const text = header.slice(config.prefix.length).trim();
  const given = config.encoding === 'hex' ? decodeHex(text) : decodeBase64(text);
  if (given === undefined) return refused('malformed-signature');
  let parts: Array<string | Buffer> = [input.body];
  let timestamp: number | undefined;
  if (config.signed === 'timestamp.body') {
    const timestampText =
      config.timestampHeader === undefined ? undefined : input.headers[config.timestampHeader];
    timestamp = parseUnixSeconds(timestampText);
    if (timestamp === undefined) return refused('malformed-signature');
    parts = [`${timestampText}.`, input.body];
  }
  const matches = input.secrets.some((secret) => bytesEqual(hmac(config.algorithm, secret, parts), given));
  if (!matches) return refused('bad-signature');
  if (timestamp !== undefined && !isFresh(timestamp, input.nowMs, config.toleranceMs)) {
    return refused('stale-timestamp');
  }
  return verified;
}
