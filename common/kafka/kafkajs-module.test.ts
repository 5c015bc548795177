import { describe, expect, it } from 'vitest';
import { installRecordEncoder } from './install-record-encoder.js';
import { isKafkajsModuleLoaded, isKafkajsModuleSwapped, swapKafkajsModule } from './kafkajs-module.js';

describe('swapKafkajsModule', () => {
  it('refuses a module whose export is not a function (kafkajs changed), leaving it alone', () => {
    const module = 'kafkajs/src/protocol/requests/apiKeys.js';
    expect(() => swapKafkajsModule({ module, replace: () => () => 1 })).toThrow(/kafkajs changed/);
    expect(isKafkajsModuleLoaded(module)).toBe(true);
    expect(isKafkajsModuleSwapped(module)).toBe(false);
  });

  it('marks what it swapped, once', () => {
    installRecordEncoder();
    installRecordEncoder();
    expect(isKafkajsModuleSwapped('kafkajs/src/protocol/recordBatch/record/v0/index.js')).toBe(true);
  });
});
