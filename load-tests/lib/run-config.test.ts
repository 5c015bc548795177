import { describe, expect, it } from 'vitest';
import { loadRunConfig, parseDurationMs, spikeProfile, type RunDefaults } from './run-config.js';

const defaults: RunDefaults = { ratePerSecond: 200, duration: '60s', mix: 'flash-sale', p99Ms: 10 };
const key = 'sk_live_test';

describe('loadRunConfig', () => {
  it('applies the defaults when only the API key is set', () => {
    const config = loadRunConfig({ SLUICE_API_KEY: key }, defaults);
    expect(config).toMatchObject({
      sluiceUrl: 'http://127.0.0.1:8080',
      apiKey: key,
      apiKeys: { critical: key, normal: key, bulk: key },
      ratePerSecond: 200,
      duration: '60s',
      durationMs: 60_000,
      seed: 1,
      runId: undefined,
      format: 'json',
      mix: 'flash-sale',
      batchSize: 100,
      batchFormat: 'json',
      p99Ms: 10,
      spikeP99Ms: 20,
      spikeFactor: 10,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads every variable and keeps one key per priority class', () => {
    const config = loadRunConfig(
      {
        SLUICE_URL: 'https://sluice.example/',
        SLUICE_API_KEY: key,
        SLUICE_API_KEY_CRITICAL: 'sk_live_critical',
        RATE: '1500',
        DURATION: '2m30s',
        SEED: '42',
        RUN_ID: 'nightly-7',
        FORMAT: 'cloudevents-binary',
        MIX: 'catalog',
        BATCH_SIZE: '500',
        BATCH_FORMAT: 'ndjson',
        P99_MS: '8',
        SPIKE_P99_MS: '25',
      },
      defaults,
    );
    expect(config).toMatchObject({
      sluiceUrl: 'https://sluice.example',
      apiKeys: { critical: 'sk_live_critical', normal: key, bulk: key },
      ratePerSecond: 1500,
      durationMs: 150_000,
      seed: 42,
      runId: 'nightly-7',
      format: 'cloudevents-binary',
      mix: 'catalog',
      batchSize: 500,
      batchFormat: 'ndjson',
      p99Ms: 8,
      spikeP99Ms: 25,
    });
  });

  it('reports every problem at once, naming the variable and its value', () => {
    let message = '';
    try {
      loadRunConfig(
        { RATE: 'fast', DURATION: '10 minutes', FORMAT: 'xml', VUS: '50', MAX_VUS: '10' },
        defaults,
      );
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('SLUICE_API_KEY is required');
    expect(message).toContain('RATE must be a positive number, got "fast"');
    expect(message).toContain('DURATION must be a duration such as 30s, 2m or 1m30s, got "10 minutes"');
    expect(message).toContain('FORMAT must be one of json, cloudevents, cloudevents-binary, got "xml"');
    expect(message).toContain('MAX_VUS (10) must be at least VUS (50)');
  });
});

describe('parseDurationMs', () => {
  it.each([
    ['250ms', 250],
    ['90s', 90_000],
    ['1m30s', 90_000],
    ['1.5s', 1500],
    ['1h', 3_600_000],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each(['', '10', '5 s', 's', '1d'])('refuses %j', (text) => {
    expect(parseDurationMs(text)).toBeUndefined();
  });
});

describe('spikeProfile', () => {
  it('goes from baseline to the spike for its duration and back to baseline', () => {
    const config = loadRunConfig(
      {
        SLUICE_API_KEY: key,
        RATE: '300',
        BASELINE_DURATION: '30s',
        RAMP_DURATION: '2s',
        SPIKE_DURATION: '60s',
        RECOVERY_DURATION: '45s',
      },
      defaults,
    );
    const profile = spikeProfile(config);
    expect(profile.startRate).toBe(300);
    expect(profile.stages).toEqual([
      { target: 300, duration: '30000ms' },
      { target: 3000, duration: '2000ms' },
      { target: 3000, duration: '60000ms' },
      { target: 300, duration: '2000ms' },
      { target: 300, duration: '45000ms' },
    ]);
    expect(profile.totalMs).toBe(139_000);
    expect(profile.phaseAt(29_999)).toBe('baseline');
    expect(profile.phaseAt(30_000)).toBe('spike');
    expect(profile.phaseAt(93_999)).toBe('spike');
    expect(profile.phaseAt(94_000)).toBe('recovery');
  });
});
