import { inboundWebhookSchema, inboundWebhookSubject } from './inbound-webhook.js';
import type { SchemaRegistry } from './registry/schema-registry.js';
import { parseSchema } from './registry/schema-text.js';
import { subscriptionEventSchemas } from './subscription-events.js';

/** Sluice's own types, by reserved subject: the inbound record and the operational events. */
const ownedSchemas: ReadonlyMap<string, { doc: string }> = new Map([
  [inboundWebhookSubject, inboundWebhookSchema],
  ...Object.entries(subscriptionEventSchemas),
]);

const ownedCanonical = new Map(
  [...ownedSchemas].map(([subject, schema]) => [
    subject,
    parseSchema(schema, { allowBytes: true }).canonical,
  ]),
);

/**
 * Registers one of Sluice's own types on first need: a registry that never needs it keeps its
 * subjects and ids as they were. Registering what is already there writes nothing; a failed
 * attempt is tried again on the next need.
 */
export function sluiceOwnedType(registry: SchemaRegistry, subject: string): { ensure(): Promise<void> } {
  const schema = ownedSchemas.get(subject);
  if (schema === undefined) throw new Error(`${subject} is not one of Sluice's own types`);
  let done: Promise<void> | undefined;
  return {
    ensure() {
      if (registry.state.latest(subject) !== undefined) return Promise.resolve();
      done ??= registry.register({ subject, schema, description: schema.doc, internal: true }).then(
        () => undefined,
        (error: unknown) => {
          done = undefined;
          throw error;
        },
      );
      return done;
    },
  };
}

/**
 * Whether `schema` is exactly Sluice's own schema of the reserved `subject`: what another Sluice
 * gateway or worker registers through this one's /registry. Anything else under `sluice.` stays refused.
 */
export function isSluiceOwnedSchema(subject: string, schema: unknown): boolean {
  const own = ownedCanonical.get(subject);
  if (own === undefined) return false;
  try {
    return parseSchema(schema, { allowBytes: true }).canonical === own;
  } catch {
    return false;
  }
}
