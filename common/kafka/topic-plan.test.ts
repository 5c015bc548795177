import { describe, expect, it } from 'vitest';
import { EnvReader } from '../config.js';
import { readTopicSettings } from './kafka-settings.js';
import { planTopics } from './topic-plan.js';

describe('planTopics', () => {
  it('plans the events topic, one topic per retry tier, the dead letters, the compacted subscriptions, schemas and sources, the attempts', () => {
    const settings = readTopicSettings(
      new EnvReader({ SLUICE_TOPIC_REPLICATION_FACTOR: '3', SLUICE_TOPIC_MIN_INSYNC_REPLICAS: '2' }),
    );
    const plan = planTopics(settings, [5000, 30_000]);
    expect(plan.map((topic) => topic.name)).toEqual([
      'sluice.events',
      'sluice.retry.5s',
      'sluice.retry.30s',
      'sluice.dlq',
      'sluice.subscriptions',
      'sluice.schemas',
      'sluice.sources',
      'sluice.attempts',
    ]);
    expect(plan.every((topic) => topic.replicationFactor === 3)).toBe(true);
    expect(plan.every((topic) => topic.configs['min.insync.replicas'] === '2')).toBe(true);
    const subscriptions = plan.find((topic) => topic.name === 'sluice.subscriptions')!;
    expect(subscriptions.numPartitions).toBe(1);
    expect(subscriptions.configs['cleanup.policy']).toBe('compact');
    const schemas = plan.find((topic) => topic.name === 'sluice.schemas')!;
    expect(schemas.numPartitions).toBe(1);
    expect(schemas.configs['cleanup.policy']).toBe('compact');
    const sources = plan.find((topic) => topic.name === 'sluice.sources')!;
    expect(sources.numPartitions).toBe(1);
    expect(sources.configs['cleanup.policy']).toBe('compact');
    const attempts = plan.find((topic) => topic.name === 'sluice.attempts')!;
    expect(attempts.numPartitions).toBe(12);
    expect(attempts.configs['cleanup.policy']).toBe('delete');
    expect(attempts.configs['retention.ms']).toBe(String(3 * 86_400_000));
  });

  it('refuses min.insync.replicas above the replication factor', () => {
    const reader = new EnvReader({ SLUICE_TOPIC_MIN_INSYNC_REPLICAS: '2' });
    readTopicSettings(reader);
    expect(() => reader.finish({})).toThrow(/cannot exceed SLUICE_TOPIC_REPLICATION_FACTOR/);
  });
});
