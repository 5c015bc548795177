import { execFileSync, spawnSync } from 'node:child_process';
import { SluiceError } from '../../common/errors.js';

/**
 * Installs a Debian package when `installed()` says it is missing (root and apt-get required);
 * `hint` tells the operator what to do instead when it cannot be installed here.
 */
export function ensureDebianPackage(
  packageName: string,
  installed: () => boolean,
  hint: string,
  log: (line: string) => void,
): void {
  if (installed()) return;
  const aptAvailable = spawnSync('sh', ['-c', 'command -v apt-get'], { encoding: 'utf8' }).status === 0;
  if (!aptAvailable || process.getuid?.() !== 0) {
    throw new SluiceError(
      'SLUICE_STACK_FAILED',
      `${packageName} is not installed and cannot be installed here (needs root and apt-get): ${hint}`,
    );
  }
  log(`installing Debian package ${packageName}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    execFileSync('apt-get', ['install', '-y', '-q', packageName], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  try {
    install();
  } catch {
    // A fresh machine has no package lists yet.
    execFileSync('apt-get', ['update', '-q'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    install();
  }
}

export function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).status === 0;
}
