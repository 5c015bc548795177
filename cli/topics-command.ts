import { EnvReader, type Env } from '../common/config.js';
import {
  createKafkaClient,
  ensureTopics,
  type EnsureTopicsReport,
  readKafkaSettings,
  readTopicSettings,
  planTopics,
} from '../common/kafka/index.js';
import { defaultRetrySchedule, parseRetrySchedule } from '../common/retry/retry-schedule.js';
import type { Logger } from '../common/logger.js';

export function loadTopicsConfig(env: Env) {
  const reader = new EnvReader(env);
  const kafka = readKafkaSettings(reader, 'sluice-topics');
  const topics = readTopicSettings(reader);
  const schedule = parseRetrySchedule(reader.string('SLUICE_RETRY_SCHEDULE', defaultRetrySchedule));
  if ('problem' in schedule) reader.problem(schedule.problem);
  return reader.finish({ kafka, topics, retryDelaysMs: 'delaysMs' in schedule ? schedule.delaysMs : [] });
}

/** `sluice topics ensure`: creates the topics of docs/architecture.md#kafka-layout; safe to repeat. */
export async function topicsEnsure(env: Env, logger: Logger): Promise<EnsureTopicsReport> {
  const config = loadTopicsConfig(env);
  const admin = createKafkaClient(config.kafka, logger).admin();
  await admin.connect();
  try {
    const report = await ensureTopics(admin, planTopics(config.topics, config.retryDelaysMs));
    for (const drift of report.drift) {
      logger.warn(drift, 'topic config differs from the plan; left as it is');
    }
    logger.info(
      { created: report.created, grown: report.grown, unchanged: report.unchanged.length },
      'topics ensured',
    );
    return report;
  } finally {
    await admin.disconnect();
  }
}
