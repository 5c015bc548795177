import { createHash } from 'node:crypto';

/** Prefix of a stored key hash; names the algorithm so it can change without ambiguity. */
export const keyHashPrefix = 'sha256:';

/** The SHA-256 digest of an API key (32 bytes). Keys are high-entropy, so no salt or KDF is needed. */
export function apiKeyDigest(apiKey: string): Buffer {
  return createHash('sha256').update(apiKey, 'utf8').digest();
}

/** The form stored in the keys file: `sha256:<64 lowercase hex digits>`. */
export function hashApiKey(apiKey: string): string {
  return keyHashPrefix + apiKeyDigest(apiKey).toString('hex');
}
