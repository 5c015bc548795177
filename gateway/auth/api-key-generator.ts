import { randomBytes } from 'node:crypto';
import { SluiceError } from '../../common/errors.js';
import type { Priority } from '../admission/priority.js';
import { validateApiKeyEntry, type ApiKeyRecord, type ApiKeyRole } from './api-key-entry.js';
import { hashApiKey } from './api-key-hash.js';

/** Marks Sluice keys so secret scanners and people recognise a leaked one. */
export const apiKeyPrefix = 'sk_live_';
/** 256 bits of randomness: guessing is hopeless and a plain SHA-256 suffices for storage. */
const apiKeyRandomBytes = 32;

export interface CreateApiKeyOptions {
  producerId: string;
  role?: ApiKeyRole;
  /** Globs of the event types the key may send; `['*']` for all. */
  allowedEventTypes: readonly string[];
  ratePerSecond?: number;
  burst?: number;
  priority?: Priority;
  /** Binds the key to one tenant (producer keys only). */
  tenant?: string;
  description?: string;
  /** Creation time written to the entry; defaults to now. */
  now?: Date;
}

export interface CreatedApiKey {
  /** The key itself. Show it once; it is not stored anywhere and cannot be recovered. */
  apiKey: string;
  /** The entry as the store will load it (defaults applied). */
  record: ApiKeyRecord;
  /** One JSON line to append to the keys file (holds only the hash). */
  line: string;
}

/**
 * Creates a key for `sluice keys create`. The entry is validated by the same rules as the keys file,
 * so the printed line always loads; bad options throw SLUICE_CONFIG_INVALID listing every problem.
 */
export function createApiKey(options: CreateApiKeyOptions): CreatedApiKey {
  const apiKey = apiKeyPrefix + randomBytes(apiKeyRandomBytes).toString('base64url');
  const entry = {
    keyHash: hashApiKey(apiKey),
    producerId: options.producerId,
    role: options.role ?? 'producer',
    allowedEventTypes: options.allowedEventTypes,
    ratePerSecond: options.ratePerSecond,
    burst: options.burst,
    priority: options.priority,
    tenant: options.tenant,
    description: options.description,
    createdAt: (options.now ?? new Date()).toISOString(),
  };
  const problems: string[] = [];
  // The JSON round trip drops absent options, so exactly what the file will hold is validated.
  const record = validateApiKeyEntry(JSON.parse(JSON.stringify(entry)), 'new key', problems);
  if (record === undefined) {
    const message = `cannot create the API key:\n  - ${problems.join('\n  - ')}`;
    throw new SluiceError('SLUICE_CONFIG_INVALID', message, { details: { problems } });
  }
  // The record, not the options, so the line carries the effective defaults explicitly.
  return { apiKey, record, line: JSON.stringify(record) };
}
