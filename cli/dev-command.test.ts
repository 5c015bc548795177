import { describe, expect, it } from 'vitest';
import { devPorts, devReadyBlock, devSsrfAllowedCidrs, roleEnv } from './dev-command.js';

describe('roleEnv (sluice dev)', () => {
  it('gives the delivery worker the admin port after the gateway’s when one is set', () => {
    const env = { SLUICE_ADMIN_PORT: '9101', OTHER: 'x' };
    expect(roleEnv(env, 'gateway')).toEqual(env);
    expect(roleEnv(env, 'deliver')).toEqual({ SLUICE_ADMIN_PORT: '9102', OTHER: 'x' });
    expect(roleEnv(env, 'log')).toEqual({ SLUICE_ADMIN_PORT: '9103', OTHER: 'x' });
  });

  it('leaves unset, 0 (any free port) and unparsable values to each process', () => {
    expect(roleEnv({}, 'deliver')).toEqual({});
    expect(roleEnv({ SLUICE_ADMIN_PORT: '0' }, 'deliver')).toEqual({ SLUICE_ADMIN_PORT: '0' });
    expect(roleEnv({ SLUICE_ADMIN_PORT: 'eighty' }, 'deliver')).toEqual({ SLUICE_ADMIN_PORT: 'eighty' });
  });
});

describe('devPorts', () => {
  it('reads the ports the processes will bind, with their defaults', () => {
    expect(devPorts({})).toEqual({
      host: '127.0.0.1',
      gateway: 8080,
      gatewayAdmin: 8081,
      deliverAdmin: 8082,
      logAdmin: 8083,
    });
    expect(devPorts({ SLUICE_PORT: '18080', SLUICE_ADMIN_PORT: '18081', SLUICE_HOST: '0.0.0.0' })).toEqual({
      host: '127.0.0.1',
      gateway: 18080,
      gatewayAdmin: 18081,
      deliverAdmin: 18082,
      logAdmin: 18083,
    });
    expect(devPorts({ SLUICE_HOST: '::1', SLUICE_ADMIN_PORT: '0' })).toMatchObject({
      host: '[::1]',
      gatewayAdmin: 0,
      deliverAdmin: 0,
    });
  });
});

describe('devReadyBlock', () => {
  const ports = { host: '127.0.0.1', gateway: 8080, gatewayAdmin: 8081, deliverAdmin: 8082, logAdmin: 8083 };

  it('names the URLs, the key and where it is kept, the logs, the next steps and how to stop', () => {
    const block = devReadyBlock({
      roles: ['gateway', 'deliver'],
      ports,
      devKey: { apiKey: 'sk_live_dev', file: '.sluice/dev/api-key.txt' },
      ssrfAllowedCidrs: devSsrfAllowedCidrs,
      ssrfDefaulted: true,
    });
    expect(block).toContain('Sluice is ready');
    expect(block).toContain('events API     http://127.0.0.1:8080/v1/events');
    expect(block).toContain('gateway admin  http://127.0.0.1:8081');
    expect(block).toContain('worker admin   http://127.0.0.1:8082');
    expect(block).not.toContain('delivery log');
    expect(block).toContain('API key        sk_live_dev');
    expect(block).toContain('kept in .sluice/dev/api-key.txt');
    expect(block).toContain(
      'webhooks       may reach 127.0.0.0/8,::1/128 (sluice dev default of SLUICE_SSRF_ALLOWED_CIDRS)',
    );
    expect(block).toContain('logs           on this terminal');
    expect(block).toContain("  node bin/sluice.js listen --events 'account.*'\n");
    expect(block).toContain('KEY=$(cat .sluice/dev/api-key.txt)');
    expect(block).toContain('curl -i http://127.0.0.1:8080/v1/events');
    expect(block).toContain('Ctrl-C');
    expect(block).toContain('node bin/sluice.js stack down');
  });

  it('points listen at a gateway on another port, and says when the keys and CIDRs are the user’s', () => {
    const block = devReadyBlock({
      roles: ['gateway', 'deliver'],
      ports: { ...ports, gateway: 18080, deliverAdmin: 0 },
      devKey: undefined,
      ssrfAllowedCidrs: '10.0.0.0/8',
      ssrfDefaulted: false,
    });
    expect(block).toContain(
      "node bin/sluice.js listen --events 'account.*' --gateway http://127.0.0.1:18080 --api-key <an admin key>",
    );
    expect(block).toContain('worker admin   any free port (see its log line)');
    expect(block).toContain('API keys       from SLUICE_API_KEYS_FILE');
    expect(block).toContain('webhooks       may reach 10.0.0.0/8\n');
  });
});

describe('devReadyBlock with the delivery log', () => {
  it('names the log process and its database, without the password', () => {
    const block = devReadyBlock({
      roles: ['gateway', 'deliver', 'log'],
      ports: { host: '127.0.0.1', gateway: 8080, gatewayAdmin: 8081, deliverAdmin: 8082, logAdmin: 8083 },
      devKey: undefined,
      ssrfAllowedCidrs: '',
      ssrfDefaulted: false,
      databaseUrl: 'postgres://sluice:s3cret@127.0.0.1:5433/sluice',
    });
    expect(block).toContain('delivery log   http://127.0.0.1:8083');
    expect(block).toContain('log database   postgres://sluice:');
    expect(block).toContain('127.0.0.1:5433/sluice   (table attempts)');
    expect(block).not.toContain('s3cret');
  });
});
