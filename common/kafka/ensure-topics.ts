import type { Admin } from 'kafkajs';
import type { TopicSpec } from './topic-plan.js';
import { awaitPartitionLeaders, createTopicsWithLeaders } from './create-topics.js';

export interface EnsureTopicsReport {
  created: string[];
  grown: Array<{ name: string; fromPartitions: number; toPartitions: number }>;
  unchanged: string[];
  /** Existing topics whose configs differ from the plan; reported, never overwritten. */
  drift: Array<{ name: string; config: string; expected: string; actual: string | undefined }>;
}

/**
 * Creates missing topics and grows partition counts; safe to run any number of times.
 * Configs of existing topics are compared, not altered: kafkajs only has the non-incremental
 * AlterConfigs call, which would reset any setting an operator changed by hand.
 */
export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[]): Promise<EnsureTopicsReport> {
  const report: EnsureTopicsReport = { created: [], grown: [], unchanged: [], drift: [] };
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((spec) => !existing.has(spec.name));
  if (missing.length > 0) {
    await createTopicsWithLeaders(
      admin,
      missing.map((spec) => ({
        topic: spec.name,
        numPartitions: spec.numPartitions,
        replicationFactor: spec.replicationFactor,
        configEntries: Object.entries(spec.configs).map(([name, value]) => ({ name, value })),
      })),
    );
    report.created.push(...missing.map((spec) => spec.name));
  }
  const present = specs.filter((spec) => existing.has(spec.name));
  if (present.length === 0) return report;

  const metadata = await admin.fetchTopicMetadata({ topics: present.map((spec) => spec.name) });
  const partitionCounts = new Map(metadata.topics.map((topic) => [topic.name, topic.partitions.length]));
  const toGrow = present.filter((spec) => (partitionCounts.get(spec.name) ?? 0) < spec.numPartitions);
  if (toGrow.length > 0) {
    await admin.createPartitions({
      topicPartitions: toGrow.map((spec) => ({ topic: spec.name, count: spec.numPartitions })),
    });
    await awaitPartitionLeaders(admin, new Map(toGrow.map((spec) => [spec.name, spec.numPartitions])));
    for (const spec of toGrow) {
      report.grown.push({
        name: spec.name,
        fromPartitions: partitionCounts.get(spec.name) ?? 0,
        toPartitions: spec.numPartitions,
      });
    }
  }

  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: present.map((spec) => ({ type: 2 /* TOPIC */, name: spec.name })),
  });
  for (const resource of described.resources) {
    const spec = present.find((candidate) => candidate.name === resource.resourceName);
    if (!spec) continue;
    const actual = new Map(resource.configEntries.map((entry) => [entry.configName, entry.configValue]));
    for (const [config, expected] of Object.entries(spec.configs)) {
      if (actual.get(config) !== expected) {
        report.drift.push({ name: spec.name, config, expected, actual: actual.get(config) });
      }
    }
    if (!toGrow.includes(spec)) report.unchanged.push(spec.name);
  }
  return report;
}
