import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface RegistryMetrics {
  /** outcome: created | existing | refused */
  registrations: Counter<'outcome'>;
  /** reason: incompatible | invalid-schema | invalid-subject | not-found | unauthorized | forbidden | other */
  refusals: Counter<'reason'>;
  /** Lost races: a write decided on a state another writer changed first, tried again. */
  writeConflicts: Counter;
  /** result: hit | miss (a schema id this process did not hold yet; it read the registry again) */
  idLookups: Counter<'result'>;
  /** From a registration's time to this process applying it. */
  propagation: Histogram;
  subjects: Gauge;
  schemas: Gauge;
}

export function createRegistryMetrics(registry: Registry): RegistryMetrics {
  return {
    registrations: new Counter({
      name: 'sluice_schema_registrations_total',
      help: 'Schema registrations by outcome: created (a new version), existing (already registered), refused.',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    refusals: new Counter({
      name: 'sluice_schema_registry_refusals_total',
      help: 'Registry requests refused, by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    writeConflicts: new Counter({
      name: 'sluice_schema_registry_write_conflicts_total',
      help: 'Registry writes decided on a state another process changed first, decided again.',
      registers: [registry],
    }),
    idLookups: new Counter({
      name: 'sluice_schema_id_lookups_total',
      help: 'Schema id lookups that missed the in-memory registry and read the registry again (miss) or found it (hit).',
      labelNames: ['result'],
      registers: [registry],
    }),
    propagation: new Histogram({
      name: 'sluice_schema_propagation_seconds',
      help: 'Time from a schema version being registered to this process applying it.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers: [registry],
    }),
    subjects: new Gauge({
      name: 'sluice_schema_registry_subjects',
      help: 'Event types (subjects) this process holds, deprecated ones included.',
      registers: [registry],
    }),
    schemas: new Gauge({
      name: 'sluice_schema_registry_schemas',
      help: 'Schema ids this process holds.',
      registers: [registry],
    }),
  };
}
