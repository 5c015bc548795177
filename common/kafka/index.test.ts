import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Kafka, kafkajsReplacementsInstalled } from './index.js';

const allInstalled = {
  messageGrouping: true,
  recordEncoder: true,
  produceRequest: true,
  recordDecoder: true,
  pendingCheck: true,
};

/** Runs an ES module script in a fresh Node process (TypeScript through tsx, no preload), from the repository root. */
function runScript(script: string) {
  return spawnSync(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', script],
    {
      encoding: 'utf8',
    },
  );
}

describe('common/kafka/index.ts, the door to Kafka', () => {
  it('has every kafkajs replacement installed once imported, in this test process', () => {
    expect(kafkajsReplacementsInstalled()).toEqual(allInstalled);
    expect(Kafka).toBeTypeOf('function');
  });

  it('installs every replacement before kafkajs loads, in a fresh process with no preload', () => {
    const script = `
      const { createRequire } = await import('node:module');
      const require = createRequire(process.cwd() + '/');
      const loaded = (module) => require.cache[require.resolve(module)] !== undefined;
      const before = loaded('kafkajs');
      const door = await import('./common/kafka/index.ts');
      console.log(JSON.stringify({
        before,
        after: loaded('kafkajs') && loaded('kafkajs/src/producer/sendMessages.js'),
        installed: door.kafkajsReplacementsInstalled(),
        calls: door.kafkajsReplacementCalls(),
      }));
    `;
    const run = runScript(script);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({
      before: false,
      after: true,
      installed: allInstalled,
      calls: { messageGrouping: 0, produceRequest: 0 },
    });
  });

  it('refuses to load after kafkajs itself, rather than run kafkajs’s own grouping silently', () => {
    const run = runScript(`await import('kafkajs'); await import('./common/kafka/index.ts');`);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('kafkajs was loaded before common/kafka/index.ts');
  });
});
