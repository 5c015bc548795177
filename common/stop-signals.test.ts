import { describe, expect, it, vi } from 'vitest';
import { createLogger } from './logger.js';
import { onStopSignal } from './stop-signals.js';

describe('onStopSignal', () => {
  it('settles with the code given to exit, without running the shutdown', async () => {
    const shutdown = vi.fn(async () => undefined);
    const signals = onStopSignal(createLogger('test', 'silent'), shutdown);
    signals.exit(1);
    await expect(signals.exitCode).resolves.toBe(1);
    expect(shutdown).not.toHaveBeenCalled();
  });
});
