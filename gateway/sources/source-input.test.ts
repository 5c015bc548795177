import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../common/errors.js';
import { problemResponse } from '../http/problem.js';
import {
  sourceBodyLimit,
  validateSourceCreate,
  validateSourcePatch,
  validateSourceRotation,
} from './source-input.js';
import type { Source } from './source.js';

function problems(result: unknown): Array<{ field: string }> {
  expect(result).toBeInstanceOf(SluiceError);
  const error = result as SluiceError;
  expect(error.code).toBe('SLUICE_INVALID_SOURCE');
  return error.details.errors as Array<{ field: string }>;
}

describe('validateSourceCreate', () => {
  it('fills in where each provider puts its type and id, and the defaults', () => {
    const github = validateSourceCreate({ name: 'github', verification: { scheme: 'github' }, secret: 's' });
    if (github instanceof SluiceError) throw github;
    expect(github.fields).toMatchObject({
      eventType: { from: 'header', name: 'x-github-event' },
      eventId: { from: 'header', name: 'x-github-delivery' },
      ratePerSecond: 1000,
      burst: 2000,
      priority: 'normal',
      maxBodyBytes: 1024 * 1024,
      enabled: true,
    });
    const stripe = validateSourceCreate({
      name: 'stripe',
      verification: { scheme: 'stripe', toleranceSeconds: 600 },
      secret: 'whsec_x',
    });
    if (stripe instanceof SluiceError) throw stripe;
    expect(stripe.fields.verification).toEqual({ scheme: 'stripe', toleranceMs: 600_000 });
    expect(stripe.fields.eventType).toEqual({ from: 'body', path: 'type' });
  });

  it('reports every problem at once, naming the field', () => {
    const fields = problems(
      validateSourceCreate({
        name: 'Not Valid',
        verification: { scheme: 'hmac', algorithm: 'md5', bogus: 1 },
        secret: 's',
        priority: 'urgent',
        maxBodyBytes: 0,
        extra: true,
      }),
    ).map((problem) => problem.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        'name',
        'verification.algorithm',
        'verification.bogus',
        'verification.header',
        'priority',
        'maxBodyBytes',
        'extra',
      ]),
    );
  });

  it('requires an event type rule where the scheme has no default, and a secret that fits the scheme', () => {
    expect(
      problems(
        validateSourceCreate({ name: 'psp', verification: { scheme: 'basic' }, secret: 'nocolon' }),
      ).map((p) => p.field),
    ).toEqual(['secret', 'eventType']);
    expect(
      problems(
        validateSourceCreate({
          name: 'sw',
          verification: { scheme: 'standard-webhooks' },
          secret: 'whsec_!!',
        }),
      ).map((p) => p.field),
    ).toEqual(['secret']);
    expect(
      problems(validateSourceCreate({ name: 'gh', verification: { scheme: 'github' } })).map((p) => p.field),
    ).toEqual(['secret']);
  });

  it('requires a timestamp header when the HMAC signs timestamp.body', () => {
    const fields = problems(
      validateSourceCreate({
        name: 'psp',
        verification: { scheme: 'hmac', header: 'x-sig', signed: 'timestamp.body' },
        secret: 'k',
        eventType: { from: 'fixed', value: 'payment' },
      }),
    ).map((p) => p.field);
    expect(fields).toEqual(['verification.timestampHeader']);
  });
});

describe('validateSourcePatch and validateSourceRotation', () => {
  const current: Source = {
    id: 'src_aaaaaaaaaaaaaaaaaaaaaaaaaa',
    name: 'github',
    description: '',
    verification: { scheme: 'github' },
    secrets: [{ secret: 'plain-secret', expiresAtMs: undefined }],
    eventType: { from: 'header', name: 'x-github-event' },
    eventId: { from: 'hash' },
    ratePerSecond: 10,
    burst: 20,
    priority: 'normal',
    maxBodyBytes: 1024,
    enabled: true,
    createdAt: '2026-12-01T00:00:00.000Z',
    updatedAt: '2026-12-01T00:00:00.000Z',
  };

  it('refuses a secret in a patch and a new scheme the stored secrets cannot serve', () => {
    expect(problems(validateSourcePatch({ secret: 'x' }, current)).map((p) => p.field)).toEqual(['secret']);
    expect(
      problems(validateSourcePatch({ verification: { scheme: 'standard-webhooks' } }, current)).map(
        (p) => p.field,
      ),
    ).toEqual(['secret']);
    expect(validateSourcePatch({ enabled: false, priority: 'critical' }, current)).toEqual({
      enabled: false,
      priority: 'critical',
    });
  });

  it('keeps the previous secret a day by default, or as long as asked', () => {
    expect(validateSourceRotation({ secret: 'next' }, current)).toEqual({
      secret: 'next',
      previousSecretMs: 86_400_000,
    });
    expect(validateSourceRotation({ secret: 'next', previousSecretSeconds: 0 }, current)).toEqual({
      secret: 'next',
      previousSecretMs: 0,
    });
    expect(
      problems(validateSourceRotation({ previousSecretSeconds: -1 }, current)).map((p) => p.field),
    ).toEqual(['secret', 'previousSecretSeconds']);
  });
});

describe('sourceBodyLimit', () => {
  const MiB = 1024 * 1024;
  const stripe = { name: 'stripe', verification: { scheme: 'stripe' }, secret: 's' };

  it('allows 5 MiB bodies when a produce request holds them with the record around them', () => {
    const limit = sourceBodyLimit(8 * MiB);
    expect(limit).toEqual({ maxBodyBytes: 5 * MiB });
    expect(validateSourceCreate({ ...stripe, maxBodyBytes: 5 * MiB }, limit)).not.toBeInstanceOf(SluiceError);
  });

  it('refuses with 422 a maxBodyBytes larger than SLUICE_PRODUCE_MAX_BATCH_BYTES can carry, naming the field and the limit', () => {
    const limit = sourceBodyLimit(4 * MiB);
    const writable = 4 * MiB - 64 * 1024;
    expect(limit.maxBodyBytes).toBe(writable);
    const refused = validateSourceCreate({ ...stripe, maxBodyBytes: 5 * MiB }, limit);
    expect(problemResponse(refused).status).toBe(422);
    expect(problems(refused)).toEqual([
      {
        field: 'maxBodyBytes',
        message: `maxBodyBytes must be a whole number from 1 to ${writable}: the gateway cannot write a larger body (SLUICE_PRODUCE_MAX_BATCH_BYTES (${4 * MiB}) less 65536 bytes for the record's other fields)`,
      },
    ]);
    expect(validateSourceCreate({ ...stripe, maxBodyBytes: writable }, limit)).not.toBeInstanceOf(
      SluiceError,
    );
  });

  it('applies the same bound to a patch, and lowers the default below it', () => {
    const limit = sourceBodyLimit(512 * 1024);
    const current = validateSourceCreate(stripe, limit);
    if (current instanceof SluiceError) throw current;
    expect(current.fields.maxBodyBytes).toBe(448 * 1024);
    const source = {
      ...current.fields,
      id: 'src_aaaaaaaaaaaaaaaaaaaaaaaaaa',
      secrets: [{ secret: 's', expiresAtMs: undefined }],
      createdAt: '2026-12-01T00:00:00.000Z',
      updatedAt: '2026-12-01T00:00:00.000Z',
    } satisfies Source;
    expect(problems(validateSourcePatch({ maxBodyBytes: MiB }, source, limit)).map((p) => p.field)).toEqual([
      'maxBodyBytes',
    ]);
    expect(validateSourcePatch({ maxBodyBytes: 448 * 1024 }, source, limit)).toEqual({
      maxBodyBytes: 448 * 1024,
    });
  });
});
