import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from '../../common/kafka/index.js';
import { SluiceError } from '../../common/errors.js';
import {
  isAlive,
  isPortOpen,
  ownedPid,
  spawnDetached,
  stopProcess,
  tail,
  waitForPortClosed,
} from './processes.js';
import type { StackPaths } from './paths.js';

/**
 * The pinned Apache Kafka version. kafkajs 2.2.4 speaks the protocol versions Kafka 4.x still
 * accepts after KIP-896 (the integration tests prove produce, consume, commit and rebalance).
 */
export const kafkaVersion = '4.1.1';

export interface KafkaBrokerOptions {
  paths: StackPaths;
  port: number;
  controllerPort: number;
  /** Max heap of the broker JVM: small enough to leave room for Node on a 2-core, shared box. */
  heapMaxBytes: number;
  readyTimeoutMs: number;
  log: (line: string) => void;
}

function brokerDirs(paths: StackPaths) {
  const home = join(paths.stateDir, 'kafka');
  return {
    libDir: join(paths.cacheDir, `kafka-${kafkaVersion}`, 'lib'),
    home,
    dataDir: join(home, 'data'),
    configFile: join(home, 'server.properties'),
    log4jFile: join(home, 'log4j2.properties'),
    serverLog: join(home, 'logs', 'server.log'),
    stdoutLog: join(home, 'logs', 'stdout.log'),
    pidFile: join(home, 'kafka.pid'),
  };
}

function requireTool(tool: string, hint: string): void {
  const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
  if (found.status !== 0) throw new SluiceError('SLUICE_STACK_FAILED', `${tool} is not installed: ${hint}`);
}

/** Resolves the broker's jars from Maven Central once; later runs reuse the cache folder. */
export function installKafka(options: KafkaBrokerOptions): string {
  const { libDir } = brokerDirs(options.paths);
  if (existsSync(join(libDir, `kafka_2.13-${kafkaVersion}.jar`))) return libDir;
  requireTool('java', 'install a Java 17+ runtime (Debian: apt-get install openjdk-17-jre-headless)');
  requireTool('mvn', 'install Maven (Debian: apt-get install maven); it fetches Kafka from Maven Central');
  options.log(`fetching Apache Kafka ${kafkaVersion} from Maven Central`);
  const partialDir = `${libDir}.partial`;
  rmSync(partialDir, { recursive: true, force: true });
  const pom = join(options.paths.root, 'cli', 'stack', 'kafka', 'pom.xml');
  try {
    execFileSync(
      'mvn',
      [
        '-q',
        '-B',
        '-f',
        pom,
        `-Dkafka.version=${kafkaVersion}`,
        'dependency:copy-dependencies',
        `-DoutputDirectory=${partialDir}`,
        '-DincludeScope=runtime',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' },
    );
  } catch (error) {
    const output =
      error instanceof Error && 'stdout' in error ? String((error as { stdout: unknown }).stdout) : '';
    throw new SluiceError(
      'SLUICE_STACK_FAILED',
      `Maven could not fetch Kafka ${kafkaVersion}:\n${output.slice(-2000)}`,
      { cause: error },
    );
  }
  // Rename last so an interrupted download never looks complete.
  renameSync(partialDir, libDir);
  return libDir;
}

function writeConfig(options: KafkaBrokerOptions): void {
  const dirs = brokerDirs(options.paths);
  mkdirSync(join(dirs.home, 'logs'), { recursive: true });
  const { port, controllerPort } = options;
  writeFileSync(
    dirs.configFile,
    [
      '# Written by `sluice stack up`: a single-node KRaft broker for development and tests.',
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      `log.dirs=${dirs.dataDir}`,
      'num.partitions=1',
      // One broker: the internal topics cannot have more replicas than that.
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=10',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      // Tests create and join groups constantly; the default 3 s delay would dominate them.
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=false',
      // Compaction tests wait for the log cleaner; its 15-s default pause between passes would dominate them.
      'log.cleaner.backoff.ms=1000',
      'message.max.bytes=8388608',
      'log.flush.interval.messages=9223372036854775807',
      '',
    ].join('\n'),
  );
  writeFileSync(
    dirs.log4jFile,
    [
      'status = warn',
      'appender.file.type = File',
      'appender.file.name = file',
      `appender.file.fileName = ${dirs.serverLog}`,
      'appender.file.layout.type = PatternLayout',
      'appender.file.layout.pattern = [%d] %p %m (%c)%n',
      'rootLogger.level = INFO',
      'rootLogger.appenderRef.file.ref = file',
      'logger.kafka.name = kafka',
      'logger.kafka.level = INFO',
      'logger.state.name = state.change.logger',
      'logger.state.level = WARN',
      '',
    ].join('\n'),
  );
}

function javaArgs(options: KafkaBrokerOptions, libDir: string, mainClass: string, args: string[]): string[] {
  const dirs = brokerDirs(options.paths);
  return [
    `-Xmx${Math.round(options.heapMaxBytes / 1024 / 1024)}m`,
    '-Xms256m',
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${dirs.log4jFile}`,
    `-Dkafka.logs.dir=${join(dirs.home, 'logs')}`,
    '-cp',
    join(libDir, '*'),
    mainClass,
    ...args,
  ];
}

function formatStorageOnce(options: KafkaBrokerOptions, libDir: string): void {
  const dirs = brokerDirs(options.paths);
  if (existsSync(join(dirs.dataDir, 'meta.properties'))) return;
  const clusterId = execFileSync(
    'java',
    javaArgs(options, libDir, 'kafka.tools.StorageTool', ['random-uuid']),
    {
      encoding: 'utf8',
    },
  ).trim();
  execFileSync(
    'java',
    javaArgs(options, libDir, 'kafka.tools.StorageTool', ['format', '-t', clusterId, '-c', dirs.configFile]),
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  options.log(`formatted Kafka storage (cluster ${clusterId})`);
}

export function kafkaPid(options: Pick<KafkaBrokerOptions, 'paths'>): number | undefined {
  const dirs = brokerDirs(options.paths);
  return ownedPid(dirs.pidFile, dirs.configFile);
}

/** Starts the broker unless this stack already runs it; fails clearly when a foreign process holds a port. */
export async function startKafka(
  options: KafkaBrokerOptions,
): Promise<{ pid: number; alreadyRunning: boolean }> {
  const running = kafkaPid(options);
  if (running !== undefined) {
    await waitForKafkaReady(options, running);
    return { pid: running, alreadyRunning: true };
  }
  for (const port of [options.port, options.controllerPort]) {
    if (await isPortOpen(port)) {
      throw new SluiceError(
        'SLUICE_STACK_FAILED',
        `port ${port} is already in use by another process; stop it, or set KAFKA_BROKERS to use an existing cluster, or SLUICE_STACK_KAFKA_PORT / SLUICE_STACK_KAFKA_CONTROLLER_PORT to move the local broker`,
      );
    }
  }
  const libDir = installKafka(options);
  writeConfig(options);
  formatStorageOnce(options, libDir);
  const dirs = brokerDirs(options.paths);
  const pid = spawnDetached('java', javaArgs(options, libDir, 'kafka.Kafka', [dirs.configFile]), {
    logFile: dirs.stdoutLog,
    pidFile: dirs.pidFile,
  });
  options.log(`started Apache Kafka ${kafkaVersion} (pid ${pid}) on 127.0.0.1:${options.port}`);
  await waitForKafkaReady(options, pid);
  return { pid, alreadyRunning: false };
}

/** Ready means a client can fetch cluster metadata, not merely that the port is open. */
async function waitForKafkaReady(options: KafkaBrokerOptions, pid: number): Promise<void> {
  const dirs = brokerDirs(options.paths);
  const deadline = Date.now() + options.readyTimeoutMs;
  const kafka = new Kafka({
    brokers: [`127.0.0.1:${options.port}`],
    clientId: 'sluice-stack',
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 1000,
  });
  while (Date.now() < deadline) {
    if (!isAlive(pid)) {
      throw new SluiceError(
        'SLUICE_STACK_FAILED',
        `Kafka exited during start-up; last log lines:\n${tail(dirs.serverLog)}\n${tail(dirs.stdoutLog)}`,
      );
    }
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length > 0 && cluster.controller !== null) return;
    } catch {
      // Not ready yet.
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await sleep(250);
  }
  throw new SluiceError(
    'SLUICE_STACK_FAILED',
    `Kafka was not ready within ${options.readyTimeoutMs} ms; last log lines:\n${tail(dirs.serverLog)}`,
  );
}

export async function stopKafka(options: KafkaBrokerOptions): Promise<boolean> {
  const pid = kafkaPid(options);
  if (pid === undefined) return false;
  // A controlled shutdown of a single node takes a few seconds; SIGKILL only if it hangs.
  await stopProcess(pid, brokerDirs(options.paths).pidFile, 30_000);
  await waitForPortClosed(options.port, 10_000);
  await waitForPortClosed(options.controllerPort, 10_000);
  options.log(`stopped Apache Kafka (pid ${pid})`);
  return true;
}

export function kafkaJarDir(paths: StackPaths): string {
  return brokerDirs(paths).libDir;
}
