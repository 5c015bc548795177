#!/usr/bin/env node
// The `sluice` command. A checkout runs the TypeScript source through tsx (a devDependency), so
// no build step is needed and a stale dist/ can never stand in for the source; the image, which
// ships dist/ and no sources, runs the compiled CLI.
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'cli', 'sluice.ts');
if (!existsSync(source)) {
  await import(join(root, 'dist', 'cli', 'sluice.js'));
} else {
  const child = spawn(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), source, ...process.argv.slice(2)],
    {
      stdio: 'inherit',
    },
  );
  // The real process is the child: pass signals on so SIGTERM still means a graceful shutdown.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (signal ? constants.signals[signal] : 1)));
}
