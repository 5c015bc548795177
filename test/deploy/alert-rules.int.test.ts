import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { chartDir, root } from './helm.js';

// Needs promtool (Debian's `prometheus` package), hence *.int.test.ts.
const run = promisify(execFile);

async function promtool(args: string[]): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run('promtool', args, { cwd: root });
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${failed.stdout ?? ''}${failed.stderr ?? String(error)}` };
  }
}

describe('alert rules (promtool)', () => {
  it('are valid Prometheus rule files', async () => {
    const result = await promtool(['check', 'rules', join(chartDir, 'alerts', 'sluice-alerts.yaml')]);
    expect(result.output).toMatch(/SUCCESS: \d+ rules found/);
    expect(result.ok).toBe(true);
  });

  it('fire, stay silent and resolve as their unit tests say', async () => {
    const result = await promtool([
      'test',
      'rules',
      join(root, 'test', 'deploy', 'sluice-alerts.promtool.yaml'),
    ]);
    expect(result.output).toMatch(/SUCCESS/);
    expect(result.ok).toBe(true);
  });
});
