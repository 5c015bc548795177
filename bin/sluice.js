#!/usr/bin/env node
// The `sluice` command. An image runs the compiled CLI from dist/; a checkout without a build
// runs the TypeScript source through tsx (a devDependency), so no build step is ever required.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'cli', 'sluice.js');
if (existsSync(compiled) && process.env.SLUICE_FROM_SOURCE !== '1') {
  await import(compiled);
} else {
  const result = spawnSync(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), join(root, 'cli', 'sluice.ts'), ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  process.exit(result.status ?? 1);
}
