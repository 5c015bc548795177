/**
 * Tenants (README.md#tenants): an event may name one, a subscription may belong to one, an API key
 * may be bound to one. A tenant id travels in a Kafka header and in logs, so it is kept short and
 * plain, by the same rule as producer ids.
 */
export const tenantIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** What a valid tenant id is, for problem messages. */
export const tenantIdRule = "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit";

/**
 * The events-topic record header that carries the event's tenant: the CloudEvents extension
 * `tenantid` in the Kafka binding's binary mode (`ce_` + the attribute name, as `ce_id`, `ce_type`).
 */
export const tenantHeader = 'ce_tenantid';

export function isTenantId(value: unknown): value is string {
  return typeof value === 'string' && tenantIdPattern.test(value);
}
