import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createApiKey } from '../gateway/auth/api-key-generator.js';
import type { Priority } from '../gateway/admission/priority.js';
import type { ApiKeyRole } from '../gateway/auth/api-key-store.js';

export const keysUsage = `usage: sluice keys create --producer ID [--types 'order.*,payment.succeeded'] [--role producer|admin]
                         [--rate EVENTS_PER_S] [--burst EVENTS] [--priority critical|normal|bulk]
                         [--tenant TENANT] [--description TEXT] [--file KEYS_FILE]

Prints the new API key once (on stderr) and the line to store (on stdout, or appended to --file).
Only the key's SHA-256 hash is stored; the key cannot be recovered later.

--tenant binds a producer key to one tenant: every event it sends carries that tenant, an event
naming another is refused (403), and it manages that tenant's subscriptions only.`;

/** `sluice keys create`. */
export function keysCreate(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: {
      producer: { type: 'string' },
      types: { type: 'string', default: '*' },
      role: { type: 'string', default: 'producer' },
      rate: { type: 'string' },
      burst: { type: 'string' },
      priority: { type: 'string' },
      tenant: { type: 'string' },
      description: { type: 'string' },
      file: { type: 'string' },
    },
    strict: true,
  });
  if (!values.producer) {
    process.stderr.write(`${keysUsage}\n`);
    return 2;
  }
  const created = createApiKey({
    producerId: values.producer,
    role: values.role as ApiKeyRole,
    allowedEventTypes: values.types.split(',').map((type) => type.trim()),
    ratePerSecond: values.rate === undefined ? undefined : Number(values.rate),
    burst: values.burst === undefined ? undefined : Number(values.burst),
    // createApiKey validates it with the keys file's rules and names a bad value.
    priority: values.priority as Priority | undefined,
    tenant: values.tenant,
    description: values.description,
  });
  const bound = values.tenant === undefined ? '' : `, tenant ${values.tenant}`;
  process.stderr.write(
    `API key for ${values.producer}${bound} (shown once, store it now): ${created.apiKey}\n`,
  );
  if (values.file) {
    appendFileSync(values.file, `${created.line}\n`, { mode: 0o600 });
    process.stderr.write(`appended its hash to ${values.file}\n`);
  } else {
    process.stdout.write(`${created.line}\n`);
  }
  return 0;
}
