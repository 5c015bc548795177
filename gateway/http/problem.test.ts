import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../common/errors.js';
import { problemContentType, problemResponse, problemTypeFor, toClientError } from './problem.js';

function documentOf(thrown: unknown, options = {}) {
  const problem = problemResponse(thrown, options);
  return { ...problem, document: JSON.parse(problem.body) as Record<string, unknown> };
}

describe('problemResponse', () => {
  it('renders a SluiceError as an RFC 9457 document with its code, status and details', () => {
    const error = new SluiceError('SLUICE_SCHEMA_INVALID', 'data.amount must be a number', {
      details: { field: 'data.amount' },
    });
    const { status, headers, document } = documentOf(error, { instance: '/v1/events#req-7' });
    expect(status).toBe(422);
    expect(headers['content-type']).toBe(problemContentType);
    expect(headers['retry-after']).toBeUndefined();
    expect(document).toEqual({
      type: 'https://sluice.dev/problems/schema-invalid',
      title: 'Event does not match its schema',
      status: 422,
      detail: 'data.amount must be a number',
      code: 'SLUICE_SCHEMA_INVALID',
      instance: '/v1/events#req-7',
      field: 'data.amount',
    });
  });

  it('never lets details overwrite the members the problem document owns', () => {
    const error = new SluiceError('SLUICE_NOT_FOUND', 'no such subscription', {
      details: { status: 200, code: 'SLUICE_OK', type: 'x', subscriptionId: 'sub-1' },
    });
    const { document } = documentOf(error);
    expect(document.status).toBe(404);
    expect(document.code).toBe('SLUICE_NOT_FOUND');
    expect(document.type).toBe('https://sluice.dev/problems/not-found');
    expect(document.subscriptionId).toBe('sub-1');
  });

  it('turns unknown errors into SLUICE_INTERNAL without leaking their message', () => {
    const { status, body, document } = documentOf(
      new Error('connect ECONNREFUSED 10.1.2.3:9092 password=hunter2'),
    );
    expect(status).toBe(500);
    expect(document.code).toBe('SLUICE_INTERNAL');
    expect(body).not.toContain('10.1.2.3');
    expect(body).not.toContain('hunter2');
  });

  it('hides the message and details of 500-class Sluice errors too', () => {
    const error = new SluiceError('SLUICE_CONFIG_INVALID', 'SLUICE_API_KEYS_FILE /etc/secret missing', {
      details: { problems: ['/etc/secret'] },
    });
    const { status, body, document } = documentOf(error);
    expect(status).toBe(500);
    expect(document.code).toBe('SLUICE_INTERNAL');
    expect(body).not.toContain('/etc/secret');
    expect(toClientError(error).cause).toBe(error);
  });

  it('always gives 503 a Retry-After, defaulting to 1 second', () => {
    expect(documentOf(new SluiceError('SLUICE_KAFKA_UNAVAILABLE', 'no ack')).headers['retry-after']).toBe(
      '1',
    );
    expect(documentOf(new SluiceError('SLUICE_OVERLOADED', 'shed')).headers['retry-after']).toBe('1');
  });

  it('rounds retryAfterSeconds up to whole seconds, never below 1', () => {
    const retryAfter = (seconds: number) =>
      documentOf(new SluiceError('SLUICE_RATE_LIMITED', 'slow down', { retryAfterSeconds: seconds })).headers[
        'retry-after'
      ];
    expect(retryAfter(2.2)).toBe('3');
    expect(retryAfter(7)).toBe('7');
    expect(retryAfter(0)).toBe('1');
  });

  it('gives 409 and 429 a default Retry-After but not client errors such as 400', () => {
    expect(documentOf(new SluiceError('SLUICE_IDEMPOTENCY_IN_FLIGHT', 'busy')).headers['retry-after']).toBe(
      '1',
    );
    expect(documentOf(new SluiceError('SLUICE_RATE_LIMITED', 'slow')).headers['retry-after']).toBe('1');
    expect(
      documentOf(new SluiceError('SLUICE_MALFORMED_REQUEST', 'bad')).headers['retry-after'],
    ).toBeUndefined();
  });

  it('gives no Retry-After to a 409 that no retry can fix', () => {
    expect(
      documentOf(new SluiceError('SLUICE_SCHEMA_INCOMPATIBLE', 'breaks data.total')).headers['retry-after'],
    ).toBeUndefined();
  });

  it('adds WWW-Authenticate to 401 and keeps extra headers', () => {
    const { headers } = documentOf(new SluiceError('SLUICE_UNAUTHENTICATED', 'unknown key'), {
      headers: { 'x-extra': 'yes' },
    });
    expect(headers['www-authenticate']).toBe('Bearer realm="sluice"');
    expect(headers['x-extra']).toBe('yes');
  });

  it('derives the problem type from the code in kebab case without the prefix', () => {
    expect(problemTypeFor('SLUICE_BODY_TOO_LARGE')).toBe('https://sluice.dev/problems/body-too-large');
  });
});
