import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import type { EnvReader } from '../config.js';
import { SluiceError } from '../errors.js';

const algorithm = 'aes-256-gcm';
const keyBytes = 32;
/** 96-bit IVs are GCM's native size; a fresh random one per encryption. */
const ivBytes = 12;
const tagBytes = 16;
const keyIdPattern = /^[A-Za-z0-9_-]{1,32}$/;
const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** One value encrypted with AES-256-GCM, as stored beside the key id that can decrypt it. */
export interface EncryptedValue {
  /** Id of the keyring key used (`k2`), so keys can rotate while old records stay readable. */
  readonly keyId: string;
  /** Base64 of the 12-byte IV. */
  readonly iv: string;
  /** Base64 of the ciphertext. */
  readonly ciphertext: string;
  /** Base64 of the 16-byte GCM authentication tag. */
  readonly tag: string;
}

/** Why a value could not be decrypted; a closed list so callers branch on it, never on text. */
export type DecryptFailure = 'unknown-key' | 'malformed' | 'authentication-failed';

/**
 * The keys that encrypt webhook signing secrets at rest (`SLUICE_SECRETS_KEYS`). The first key
 * encrypts; every key decrypts, so a key is rotated by putting a new one first and dropping the old
 * one only once every record has been rewritten under the new key.
 *
 * The key material lives in a private field: logging the config (JSON, pino, util.inspect) shows
 * the key ids only.
 */
export class SecretsKeyring {
  readonly #keys: ReadonlyMap<string, Buffer>;
  /** The key that encrypts new values. */
  readonly primaryKeyId: string;
  /** Every key id, the primary first. */
  readonly keyIds: readonly string[];

  constructor(keys: ReadonlyArray<{ id: string; key: Buffer }>) {
    const first = keys[0];
    if (first === undefined)
      throw new SluiceError('SLUICE_CONFIG_INVALID', 'a keyring needs at least one key');
    const map = new Map<string, Buffer>();
    for (const { id, key } of keys) {
      if (key.length !== keyBytes) {
        throw new SluiceError('SLUICE_CONFIG_INVALID', `key ${id} must be ${keyBytes} bytes`);
      }
      if (map.has(id)) throw new SluiceError('SLUICE_CONFIG_INVALID', `key id ${id} appears twice`);
      map.set(id, Buffer.from(key));
    }
    this.#keys = map;
    this.primaryKeyId = first.id;
    this.keyIds = Object.freeze([...map.keys()]);
  }

  /**
   * Encrypts `plaintext` under the primary key. `associatedData` is authenticated but not stored:
   * decrypting needs the same value, which binds a ciphertext to its context (e.g. a subscription
   * id, so an encrypted secret copied into another subscription's record does not decrypt).
   */
  encrypt(plaintext: string, associatedData: string): EncryptedValue {
    const key = this.#keys.get(this.primaryKeyId) as Buffer;
    const iv = randomBytes(ivBytes);
    const cipher = createCipheriv(algorithm, key, iv, { authTagLength: tagBytes });
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return {
      keyId: this.primaryKeyId,
      iv: iv.toString('base64'),
      ciphertext: ciphertext.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
    };
  }

  /** The plaintext, or why it cannot be had. Never throws for bad input. */
  decrypt(
    value: EncryptedValue,
    associatedData: string,
  ): { ok: true; plaintext: string } | { ok: false; reason: DecryptFailure; message: string } {
    const key = this.#keys.get(value.keyId);
    if (key === undefined) {
      return {
        ok: false,
        reason: 'unknown-key',
        message: `encrypted with key ${JSON.stringify(value.keyId)}, which is not in SLUICE_SECRETS_KEYS (${this.keyIds.join(', ')})`,
      };
    }
    const iv = decodeBase64(value.iv);
    const tag = decodeBase64(value.tag);
    const ciphertext = decodeBase64(value.ciphertext);
    if (iv?.length !== ivBytes || tag?.length !== tagBytes || ciphertext === undefined) {
      return { ok: false, reason: 'malformed', message: 'the encrypted value is malformed' };
    }
    try {
      const decipher = createDecipheriv(algorithm, key, iv, { authTagLength: tagBytes });
      decipher.setAAD(Buffer.from(associatedData, 'utf8'));
      decipher.setAuthTag(tag);
      const plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
      return { ok: true, plaintext };
    } catch {
      return {
        ok: false,
        reason: 'authentication-failed',
        message: `cannot decrypt with key ${JSON.stringify(value.keyId)}: the key differs from the one that encrypted it, or the record was altered`,
      };
    }
  }

  toJSON(): { primaryKeyId: string; keyIds: readonly string[] } {
    return { primaryKeyId: this.primaryKeyId, keyIds: this.keyIds };
  }

  [inspect.custom](): string {
    return `SecretsKeyring { primaryKeyId: '${this.primaryKeyId}', keyIds: [${this.keyIds.join(', ')}] }`;
  }
}

/**
 * Parses `k2:<base64 of 32 bytes>,k1:<base64>`. Returns the keyring, or every problem found.
 * Problems name key ids and positions, never key material.
 */
export function parseSecretsKeys(text: string): SecretsKeyring | { problems: string[] } {
  const problems: string[] = [];
  const keys: Array<{ id: string; key: Buffer }> = [];
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) problems.push('SLUICE_SECRETS_KEYS holds no key');
  entries.forEach((entry, index) => {
    const colon = entry.indexOf(':');
    const id = colon < 0 ? '' : entry.slice(0, colon);
    const encoded = colon < 0 ? '' : entry.slice(colon + 1);
    const label = `SLUICE_SECRETS_KEYS entry ${index + 1}`;
    if (!keyIdPattern.test(id)) {
      problems.push(`${label} must be <key id>:<base64 key> with a key id of 1-32 letters, digits, _ or -`);
      return;
    }
    const key = decodeBase64(encoded);
    if (key?.length !== keyBytes) {
      problems.push(`${label} (${id}): the key must be the base64 of exactly ${keyBytes} random bytes`);
      return;
    }
    if (keys.some((other) => other.id === id)) {
      problems.push(`${label}: key id ${id} appears more than once`);
      return;
    }
    keys.push({ id, key });
  });
  return problems.length > 0 ? { problems } : new SecretsKeyring(keys);
}

/**
 * Reads `SLUICE_SECRETS_KEYS` (required). A missing or invalid value is a config problem: without
 * it no subscription secret can be stored or read.
 */
export function readSecretsKeyring(reader: EnvReader): SecretsKeyring {
  const text = reader.optionalString('SLUICE_SECRETS_KEYS');
  if (text === undefined) {
    reader.problem(
      'SLUICE_SECRETS_KEYS must hold the keys that encrypt webhook signing secrets, as <id>:<base64 of 32 random bytes>[,<older id>:<key>…], e.g. k1:$(openssl rand -base64 32)',
    );
    return placeholderKeyring();
  }
  const parsed = parseSecretsKeys(text);
  if (parsed instanceof SecretsKeyring) return parsed;
  for (const problem of parsed.problems) reader.problem(problem);
  return placeholderKeyring();
}

/** A new `SLUICE_SECRETS_KEYS` entry: `<id>:<base64 of 32 random bytes>` (for `sluice dev`, tests). */
export function generateSecretsKey(keyId = 'k1'): string {
  if (!keyIdPattern.test(keyId)) {
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID',
      `key id must be 1-32 letters, digits, _ or -, got ${keyId}`,
    );
  }
  return `${keyId}:${randomBytes(keyBytes).toString('base64')}`;
}

/** Returned beside a config problem only, so the reader can go on collecting problems. */
function placeholderKeyring(): SecretsKeyring {
  return new SecretsKeyring([{ id: 'invalid', key: randomBytes(keyBytes) }]);
}

/** Canonical base64 only: Buffer.from silently skips bad characters, which would hide typos. */
function decodeBase64(text: string): Buffer | undefined {
  return base64Pattern.test(text) ? Buffer.from(text, 'base64') : undefined;
}
