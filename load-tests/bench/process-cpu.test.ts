import { describe, expect, it } from 'vitest';
import { cpuSeconds, medianMicros, startCpuMeter } from './process-cpu.js';

/** Burns this process's CPU until it has used `ms` more (however busy the machine is); returns what it used. */
function burnCpuMs(ms: number): number {
  const before = process.cpuUsage();
  const usedMs = () => {
    const used = process.cpuUsage(before);
    return (used.user + used.system) / 1000;
  };
  while (usedMs() < ms);
  return usedMs();
}

describe('startCpuMeter', () => {
  it('charges the CPU a process spends to each unit of work', () => {
    const meter = startCpuMeter({ self: process.pid, gone: undefined });
    const burntMs = burnCpuMs(200);
    const micros = meter.microsPer(1000);
    // ~200 ms over 1000 units is ~200 µs each; /proc counts in 10-ms ticks (and other threads).
    expect(micros.self).toBeGreaterThanOrEqual(burntMs - 30);
    expect(micros.self).toBeLessThan(burntMs + 60);
    expect(Object.keys(micros)).toEqual(['self']);
  });

  it('reads NaN for a process that is not there, and skips it', () => {
    expect(cpuSeconds(2 ** 22 + 1)).toBeNaN();
    expect(startCpuMeter({ ghost: 2 ** 22 + 1 }).microsPer(10)).toEqual({});
  });
});

describe('medianMicros', () => {
  it('takes each role’s median over the runs that measured it', () => {
    expect(
      medianMicros([
        { gateway: 60, broker: 8 },
        { gateway: 70, broker: 10 },
        { gateway: 65 },
        { gateway: 50, broker: 9 },
      ]),
    ).toEqual({ gateway: 62.5, broker: 9 });
  });
});
