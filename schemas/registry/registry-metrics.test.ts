import { Registry, register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createRegistryMetrics } from './registry-metrics.js';

describe('createRegistryMetrics', () => {
  it('registers on the given registry only, with every labelled series present at zero', async () => {
    const registry = new Registry();
    createRegistryMetrics(registry);
    const text = await registry.metrics();
    for (const series of [
      'sluice_schema_registrations_total{outcome="created"} 0',
      'sluice_schema_registrations_total{outcome="refused"} 0',
      'sluice_schema_registry_refusals_total{reason="incompatible"} 0',
      'sluice_schema_registry_refusals_total{reason="unauthorized"} 0',
      'sluice_schema_id_lookups_total{result="found"} 0',
      'sluice_schema_registry_write_conflicts_total 0',
      'sluice_schema_propagation_seconds_count 0',
      'sluice_schema_registry_caught_up 0',
    ]) {
      expect(text).toContain(series);
    }
    expect(globalRegistry.getSingleMetric('sluice_schema_registrations_total')).toBeUndefined();
  });

  it('can be created on two registries in one process (gateway and worker in one test)', () => {
    expect(() => {
      createRegistryMetrics(new Registry());
      createRegistryMetrics(new Registry());
    }).not.toThrow();
  });
});
