import { describe, expect, it } from 'vitest';
import { roleEnv } from './dev-command.js';

describe('roleEnv (sluice dev)', () => {
  it('gives the delivery worker the admin port after the gateway’s when one is set', () => {
    const env = { SLUICE_ADMIN_PORT: '9101', OTHER: 'x' };
    expect(roleEnv(env, 'gateway')).toEqual(env);
    expect(roleEnv(env, 'deliver')).toEqual({ SLUICE_ADMIN_PORT: '9102', OTHER: 'x' });
  });

  it('leaves unset, 0 (any free port) and unparsable values to each process', () => {
    expect(roleEnv({}, 'deliver')).toEqual({});
    expect(roleEnv({ SLUICE_ADMIN_PORT: '0' }, 'deliver')).toEqual({ SLUICE_ADMIN_PORT: '0' });
    expect(roleEnv({ SLUICE_ADMIN_PORT: 'eighty' }, 'deliver')).toEqual({ SLUICE_ADMIN_PORT: 'eighty' });
  });
});
