import { isSluiceError } from '../common/errors.js';
import { createLogger } from '../common/logger.js';
import { runDlqReplay } from '../consumers/dlq-replay.js';
import { runDeliver } from '../consumers/main.js';
import { runGateway } from '../gateway/main.js';
import { runLog, runLogMigrate } from '../log/main.js';
import { checkSchemas } from '../schemas/check-schemas.js';
import { exitWithParent, runDev } from './dev-command.js';
import { keysCreate, keysUsage } from './keys-command.js';
import { runListen } from './listen-command.js';
import { runDlqList, runEventsShow } from './log-commands.js';
import { schemasImport, schemasImportUsage } from './schemas-command.js';
import { stackDown, stackStatus, stackUp } from './stack/stack.js';
import { postgresMajorVersion } from './stack/postgres-server.js';
import { redactDatabaseUrl } from '../common/postgres/index.js';
import { topicsEnsure } from './topics-command.js';

const usage = `usage: sluice <command>

  deliver                    the delivery worker (Kafka → webhooks, retry tiers, dead letters)
  dev                        everything on this machine: stack, topics, gateway, delivery workers
  dlq list                   dead letters from the delivery log, via the gateway (see: --help)
  dlq replay                 re-send dead letters through the retry tiers (see: sluice dlq replay --help)
  events show <id>           an event's status per subscription and its attempts, via the gateway
  gateway                    the ingest gateway (HTTP → Kafka)
  keys create --producer ID  a new API key (see: sluice keys create --help)
  listen                     a local webhook receiver: subscribes, verifies and prints deliveries
                             (see: sluice listen --help)
  log                        the delivery log: attempt records from Kafka into PostgreSQL
  log migrate                create or upgrade the log's tables and partitions (safe to repeat)
  schemas check              the example catalog: manifest, Avro policy, each version reads the previous
  schemas import [DIR…]      register folders of .avsc files in the schema registry (see --help)
  stack up | down | status   local Kafka (KRaft), Redis and PostgreSQL for development and tests
  topics ensure              create the events, retry-tier, dead-letter, subscriptions, schemas and
                             attempts topics
`;

const say = (line: string) => process.stderr.write(`sluice: ${line}\n`);

async function main(args: string[]): Promise<number> {
  const [command, sub] = args;
  const env = process.env;
  // Its flags follow the command directly, so they are not a sub-command.
  if (command === 'listen') return runListen(args.slice(1), env);
  switch (`${command ?? ''} ${sub ?? ''}`.trim()) {
    case 'gateway':
      return runGateway(env);
    case 'deliver':
      return runDeliver(env);
    case 'log':
      return runLog(env);
    case 'log migrate':
      return runLogMigrate(env);
    case 'dlq list':
      return runDlqList(args.slice(2), env);
    case 'events show':
      return runEventsShow(args.slice(2), env);
    case 'dlq replay':
      return runDlqReplay(args.slice(2), env, createLogger('sluice-dlq'));
    case 'keys create':
      if (args.includes('--help')) {
        process.stderr.write(`${keysUsage}\n`);
        return 0;
      }
      return keysCreate(args.slice(2));
    case 'dev':
      return runDev(env, createLogger('sluice-dev'), ['gateway', 'deliver']);
    case 'stack up': {
      const endpoints = await stackUp(env, say);
      say(
        `stack ready: KAFKA_BROKERS=${endpoints.kafkaBrokers.join(',')} REDIS_URL=${endpoints.redisUrl} SLUICE_LOG_DATABASE_URL=${redactDatabaseUrl(endpoints.databaseUrl)}`,
      );
      return 0;
    }
    case 'stack down':
      await stackDown(env, say);
      return 0;
    case 'stack status': {
      const status = stackStatus(env);
      process.stdout.write(
        `kafka ${status.kafkaVersion}: ${status.kafka ? `running (pid ${status.kafka})` : 'stopped'}\n` +
          `redis: ${status.redis ? `running (pid ${status.redis})` : 'stopped'}\n` +
          `postgres ${postgresMajorVersion}: ${status.postgres ? `running (pid ${status.postgres})` : 'stopped'}\n`,
      );
      return 0;
    }
    case 'schemas check': {
      const problems = checkSchemas();
      for (const problem of problems) say(problem);
      if (problems.length === 0) say('schema catalog is consistent and every version reads the previous one');
      return problems.length === 0 ? 0 : 1;
    }
    case 'schemas import':
      if (args.includes('--help')) {
        process.stderr.write(`${schemasImportUsage}\n`);
        return 0;
      }
      await schemasImport(args.slice(2), env, createLogger('sluice-schemas'));
      return 0;
    case 'topics ensure':
      await topicsEnsure(env, createLogger('sluice-topics'));
      return 0;
    default:
      process.stderr.write(usage);
      return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  }
}

exitWithParent();
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (isSluiceError(error)) say(`${error.code}: ${error.message}`);
    else say(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
