import { describe, expect, it } from 'vitest';
import {
  generateSecretsKey,
  parseSecretsKeys,
  type SecretsKeyring,
} from '../../common/subscriptions/secrets-keyring.js';
import { decodeSourceRecord, encodeSource } from './source-codec.js';
import type { Source } from './source.js';

const keyring = parseSecretsKeys(generateSecretsKey('k1')) as SecretsKeyring;
const source: Source = {
  id: 'src_bbbbbbbbbbbbbbbbbbbbbbbbbb',
  name: 'stripe',
  description: 'payments',
  verification: { scheme: 'stripe', toleranceMs: 300_000 },
  secrets: [
    { secret: 'whsec_current_secret_value', expiresAtMs: undefined },
    { secret: 'whsec_previous_secret_value', expiresAtMs: 1_800_000_000_000 },
  ],
  eventType: { from: 'body', path: 'type' },
  eventId: { from: 'body', path: 'id' },
  ratePerSecond: 100,
  burst: 200,
  priority: 'critical',
  maxBodyBytes: 65_536,
  enabled: true,
  createdAt: '2026-12-01T00:00:00.000Z',
  updatedAt: '2026-12-02T00:00:00.000Z',
};

describe('source records', () => {
  it('round-trips a source with its secrets encrypted, never in plain text', () => {
    const record = encodeSource(source, keyring);
    expect(record.value.toString()).not.toContain('secret_value');
    const decoded = decodeSourceRecord(
      { key: Buffer.from(record.key), value: record.value } as never,
      keyring,
    );
    expect(decoded).toEqual({ key: source.id, value: source });
  });

  it('refuses secrets copied into another source’s record, without quoting them', () => {
    const record = encodeSource(source, keyring);
    const moved = record.value.toString().replace(source.id, 'src_cccccccccccccccccccccccccc');
    const decoded = decodeSourceRecord(
      { key: Buffer.from('src_cccccccccccccccccccccccccc'), value: Buffer.from(moved) } as never,
      keyring,
    );
    expect(decoded.value).toBeUndefined();
    expect(decoded.problem?.reason).toBe('authentication-failed');
    expect(JSON.stringify(decoded)).not.toContain('secret_value');
  });

  it('reads a tombstone as a deletion', () => {
    expect(decodeSourceRecord({ key: Buffer.from(source.id), value: null } as never, keyring)).toEqual({
      key: source.id,
      value: undefined,
    });
  });
});
