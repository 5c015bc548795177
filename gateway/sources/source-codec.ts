import type { DecodedTopicRecord, KafkaMessage } from '../../common/kafka/index.js';
import type { EncryptedValue, SecretsKeyring } from '../../common/subscriptions/secrets-keyring.js';
import type { Source } from './source.js';

/**
 * The record of a source in the compacted topic `sluice.sources`: key = source id, value = UTF-8
 * JSON `{"v":1, ...every Source field, "secrets":[{keyId, iv, ciphertext, tag, expiresAtMs}]}`, or
 * null once deleted. Secrets are encrypted as subscription secrets are (AES-256-GCM under
 * `SLUICE_SECRETS_KEYS`, the source id as associated data, so a ciphertext copied into another
 * source's record does not decrypt). Nothing else in the record is secret.
 */
export const sourceRecordContentType = 'application/vnd.sluice.source.v1+json';

interface StoredSecret extends EncryptedValue {
  readonly expiresAtMs: number | null;
}

const secretContext = (id: string) => `sluice.source.secret.v1/${id}`;

export function encodeSource(
  source: Source,
  keyring: SecretsKeyring,
): { key: string; value: Buffer; headers: Record<string, string> } {
  const context = secretContext(source.id);
  const record = {
    v: 1,
    ...source,
    secrets: source.secrets.map(({ secret, expiresAtMs }): StoredSecret => ({
      ...keyring.encrypt(secret, context),
      expiresAtMs: expiresAtMs ?? null,
    })),
  };
  return {
    key: source.id,
    value: Buffer.from(JSON.stringify(record), 'utf8'),
    headers: { 'content-type': sourceRecordContentType },
  };
}

export function sourceTombstone(id: string): { key: string; value: null; headers: Record<string, string> } {
  return { key: id, value: null, headers: {} };
}

/**
 * Reads one record; never throws. An unreadable one (bad JSON, unknown version, a secret under a
 * key not in the keyring) leaves the view with a problem whose message never quotes the value.
 */
export function decodeSourceRecord(
  message: KafkaMessage,
  keyring: SecretsKeyring,
): DecodedTopicRecord<Source> {
  const key = message.key?.toString('utf8');
  if (key === undefined || key === '') {
    return {
      key: undefined,
      value: undefined,
      problem: { reason: 'no-key', message: 'the record has no key' },
    };
  }
  if (message.value === null) return { key, value: undefined };
  const problem = (reason: string, text: string) => ({
    key,
    value: undefined,
    problem: { reason, message: text },
  });
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(message.value.toString('utf8')) as Record<string, unknown>;
  } catch {
    return problem('malformed', 'the record value is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || parsed.v !== 1) {
    return problem('unsupported-version', 'the record is not a v1 source');
  }
  if (parsed.id !== key || !Array.isArray(parsed.secrets) || typeof parsed.verification !== 'object') {
    return problem('malformed', 'the record is not a valid source');
  }
  const secrets: Array<{ secret: string; expiresAtMs: number | undefined }> = [];
  for (const [index, stored] of (parsed.secrets as StoredSecret[]).entries()) {
    const decrypted = keyring.decrypt(stored, secretContext(key));
    if (!decrypted.ok) return problem(decrypted.reason, `secrets[${index}]: ${decrypted.message}`);
    secrets.push({ secret: decrypted.plaintext, expiresAtMs: stored.expiresAtMs ?? undefined });
  }
  const { v: _version, ...fields } = parsed;
  return { key, value: Object.freeze({ ...(fields as unknown as Source), secrets }) };
}
