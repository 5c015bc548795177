import { checkSubject, decideRegistration } from '../../schemas/registry/registry-decisions.js';
import { RegistryState } from '../../schemas/registry/registry-state.js';
import type {
  Registration,
  RegistrationRequest,
  SchemaRegistry,
} from '../../schemas/registry/schema-registry.js';
import { parseSchema } from '../../schemas/registry/schema-text.js';

/**
 * The registration half of Sluice's registry without Kafka: the same decisions
 * (registry-decisions.ts) applied to the same state (registry-state.ts), each change taking the
 * next offset as a lone writer's would. What `sluice schemas import` would register, or refuse,
 * on an empty registry: for unit tests, and for the chart test that checks the schemas a values
 * file imports.
 */
export class MemorySchemaRegistry implements Pick<SchemaRegistry, 'register'> {
  readonly state = new RegistryState();
  private nextOffset = 0n;

  register(request: RegistrationRequest): Promise<Registration> {
    try {
      checkSubject(request.subject);
      const decision = decideRegistration(this.state, {
        subject: request.subject,
        schema: parseSchema(request.schema),
        description: request.description,
        example: request.example,
        nowIso: new Date().toISOString(),
      });
      if ('existing' in decision) {
        const { id, version } = decision.existing;
        return Promise.resolve({ id, version, created: false });
      }
      const applied = this.state.apply(this.nextOffset, {
        basis: this.state.lastEffectiveOffset(),
        change: decision.change,
      });
      this.nextOffset += 1n;
      if (!applied.applied) throw new Error(`the change did not apply: ${applied.reason}`);
      const { id, version } = decision.change;
      return Promise.resolve({ id, version, created: true });
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }
}
