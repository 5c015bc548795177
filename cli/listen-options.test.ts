import { describe, expect, it } from 'vitest';
import { listenerUrl, parseListenArgs } from './listen-options.js';

describe('parseListenArgs (sluice listen)', () => {
  it('defaults to port 9000, every event type, the local gateway, 200 answers and SLUICE_API_KEY', () => {
    expect(parseListenArgs([], { SLUICE_API_KEY: 'sk_test' })).toEqual({
      port: 9000,
      host: '127.0.0.1',
      url: undefined,
      gatewayUrl: 'http://127.0.0.1:8080',
      apiKey: 'sk_test',
      eventTypes: ['*'],
      keep: false,
      subscriptionId: undefined,
      secret: undefined,
      answer: { status: undefined, failAttempts: 0, delayMs: 0 },
    });
  });

  it('reads every flag; --api-key wins over SLUICE_API_KEY', () => {
    const parsed = parseListenArgs(
      [
        '--port=0',
        '--events',
        'account.*, order.created',
        '--gateway',
        'http://gw.local:18080/',
        '--api-key',
        'sk_flag',
        '--keep',
        '--status',
        '503',
        '--fail-attempts',
        '2',
        '--delay-ms',
        '2000',
      ],
      { SLUICE_API_KEY: 'sk_env' },
    );
    expect(parsed).toMatchObject({
      port: 0,
      eventTypes: ['account.*', 'order.created'],
      gatewayUrl: 'http://gw.local:18080',
      apiKey: 'sk_flag',
      keep: true,
      answer: { status: 503, failAttempts: 2, delayMs: 2000 },
    });
  });

  it('takes an existing subscription with its secret', () => {
    expect(parseListenArgs(['--subscription', 'sub_abc', '--secret', 'whsec_c2VjcmV0'], {})).toMatchObject({
      subscriptionId: 'sub_abc',
      secret: 'whsec_c2VjcmV0',
    });
  });

  it('reports every problem at once, never quoting a secret', () => {
    const parsed = parseListenArgs(
      [
        '--port',
        '70000',
        '--status',
        '204',
        '--fail-attempts',
        '1',
        '--events',
        'a b',
        '--gateway',
        'ftp://x',
        '--subscription',
        'sub_abc',
      ],
      {},
    );
    expect(parsed).toEqual({
      problems: [
        '--port must be a whole number from 0 to 65535, got 70000',
        '--status must be a failure (300 to 599) with --fail-attempts, got 204',
        '--events must be comma-separated event types or globs such as account.*, got a b',
        '--gateway must be an http(s) URL, got ftp://x',
        '--subscription needs --secret: the signing secret is shown once, when the subscription is created or rotated',
      ],
    });
    const badSecret = parseListenArgs(['--secret', 'hunter2'], {});
    expect(JSON.stringify(badSecret)).not.toContain('hunter2');
  });

  it('refuses unknown flags and stray words, and answers --help', () => {
    expect(parseListenArgs(['--prot', '1'], {})).toEqual({ problems: [expect.stringContaining('--prot')] });
    expect(parseListenArgs(['now'], {})).toEqual({ problems: [expect.stringContaining('now')] });
    expect(parseListenArgs(['--help'], {})).toEqual({ help: true });
  });
});

describe('listenerUrl', () => {
  it('points at loopback when bound to every address, and brackets IPv6', () => {
    expect(listenerUrl('0.0.0.0', 9000)).toBe('http://127.0.0.1:9000/webhooks');
    expect(listenerUrl('127.0.0.1', 41234)).toBe('http://127.0.0.1:41234/webhooks');
    expect(listenerUrl('::1', 9000)).toBe('http://[::1]:9000/webhooks');
  });
});
