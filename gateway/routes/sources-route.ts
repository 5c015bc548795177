import { SluiceError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { ApiKeyStore } from '../auth/api-key-store.js';
import type { GatewayMetrics } from '../gateway-metrics.js';
import type { HttpExchange } from '../http/http-exchange.js';
import type { Router } from '../http/router.js';
import type { VerificationConfig } from '../inbound/schemes/verification.js';
import {
  isSourceId,
  validateSourceCreate,
  validateSourcePatch,
  validateSourceRotation,
  type SourceBodyLimit,
} from '../sources/source-input.js';
import type { SourceStore } from '../sources/source-store.js';
import type { Source } from '../sources/source.js';
import { createAdminHandler, requireBody, type Action } from './subscriptions-route.js';

export interface SourcesRouteDeps {
  apiKeys: ApiKeyStore;
  store: Pick<SourceStore, 'get' | 'all' | 'create' | 'update' | 'remove' | 'rotateSecret'>;
  logger: Logger;
  metrics?: Pick<GatewayMetrics, 'requests' | 'requestDuration'> | undefined;
  accepting?: (() => boolean) | undefined;
  inFlight?: { enter(): void; leave(): void } | undefined;
  nowMs?: () => number;
  /** Runs before a source is stored: registers the inbound record type (inbound-record.ts). */
  beforeCreate?: () => Promise<void>;
  /** The largest maxBodyBytes this gateway can write (sourceBodyLimit); 5 MiB when not given. */
  bodyLimit?: SourceBodyLimit;
}

const collection = '/v1/sources';
const item = '/v1/sources/:id';
const rotate = '/v1/sources/:id/rotate-secret';
const forbiddenDetail = 'managing inbound sources needs an admin API key';

/**
 * The inbound source API (README.md#inbound-webhooks), admin keys only. A secret is never
 * returned: answers show each active secret masked (its last 4 characters when it is long enough
 * for that to reveal nothing useful) and when a rotated-out one stops verifying.
 */
export function addSourceRoutes(router: Router, deps: SourcesRouteDeps): Router {
  const { store, logger } = deps;
  const nowMs = deps.nowMs ?? Date.now;
  const handler = (route: string, readsBody: boolean, action: Action) =>
    createAdminHandler(deps, route, readsBody, action, { forbiddenDetail });
  const find = (exchange: HttpExchange): Source => {
    const id = exchange.params.id ?? '';
    const found = isSourceId(id) ? store.get(id) : undefined;
    if (found === undefined) throw new SluiceError('SLUICE_NOT_FOUND', `no source ${id}`);
    return found;
  };
  const resource = (source: Source) => toSourceResource(source, nowMs());

  return router
    .route(
      'POST',
      collection,
      handler(collection, true, async ({ key, body }) => {
        const input = validateSourceCreate(requireBody(body), deps.bodyLimit);
        if (input instanceof SluiceError) throw input;
        await deps.beforeCreate?.();
        const created = await store.create(input.fields, input.secret);
        logger.info({ sourceId: created.id, name: created.name, by: key.producerId }, 'source created');
        return { status: 201, headers: { location: `${collection}/${created.id}` }, body: resource(created) };
      }),
    )
    .route(
      'GET',
      collection,
      handler(collection, false, () => ({ status: 200, body: { sources: store.all().map(resource) } })),
    )
    .route(
      'GET',
      item,
      handler(item, false, ({ exchange }) => ({ status: 200, body: resource(find(exchange)) })),
    )
    .route(
      'PATCH',
      item,
      handler(item, true, async ({ exchange, key, body }) => {
        const current = find(exchange);
        const patch = validateSourcePatch(requireBody(body), current, deps.bodyLimit);
        if (patch instanceof SluiceError) throw patch;
        const updated = await store.update(current.id, patch);
        logger.info(
          { sourceId: current.id, by: key.producerId, fields: Object.keys(patch) },
          'source updated',
        );
        return { status: 200, body: resource(updated) };
      }),
    )
    .route(
      'DELETE',
      item,
      handler(item, false, async ({ exchange, key }) => {
        const id = find(exchange).id;
        await store.remove(id);
        logger.info({ sourceId: id, by: key.producerId }, 'source deleted');
        return { status: 204 };
      }),
    )
    .route(
      'POST',
      rotate,
      handler(rotate, true, async ({ exchange, key, body }) => {
        const current = find(exchange);
        const rotation = validateSourceRotation(requireBody(body), current);
        if (rotation instanceof SluiceError) throw rotation;
        const rotated = await store.rotateSecret(current.id, rotation.secret, rotation.previousSecretMs);
        logger.info({ sourceId: current.id, by: key.producerId }, 'source secret rotated');
        return { status: 200, body: resource(rotated) };
      }),
    );
}

/** The public JSON of a source: its secrets masked, tolerances in seconds. */
export function toSourceResource(source: Source, nowMs: number) {
  return {
    id: source.id,
    name: source.name,
    description: source.description,
    url: `/in/${source.id}`,
    verification: verificationResource(source.verification),
    secrets: source.secrets
      .filter((entry) => entry.expiresAtMs === undefined || entry.expiresAtMs > nowMs)
      .map((entry) => ({
        masked: maskSecret(entry.secret),
        expiresAt: entry.expiresAtMs === undefined ? null : new Date(entry.expiresAtMs).toISOString(),
      })),
    eventType: source.eventType,
    eventId: source.eventId,
    ratePerSecond: source.ratePerSecond,
    burst: source.burst,
    priority: source.priority,
    maxBodyBytes: source.maxBodyBytes,
    enabled: source.enabled,
    createdAt: source.createdAt,
    updatedAt: source.updatedAt,
  };
}

function verificationResource(config: VerificationConfig): Record<string, unknown> {
  if (!('toleranceMs' in config)) return { ...config };
  const { toleranceMs, ...rest } = config;
  const shown: Record<string, unknown> = { ...rest, toleranceSeconds: toleranceMs / 1000 };
  if (shown.timestampHeader === undefined) delete shown.timestampHeader;
  return shown;
}

/** `••••3f9a` for a secret of 20 characters or more, else `••••`: never enough to guess from. */
export function maskSecret(secret: string): string {
  return secret.length >= 20 ? `••••${secret.slice(-4)}` : '••••';
}
