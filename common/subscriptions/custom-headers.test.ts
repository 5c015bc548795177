import { describe, expect, it } from 'vitest';
import {
  customHeaderLimits,
  customHeadersResource,
  isReservedHeaderName,
  parseCustomHeaders,
  resolveCustomHeaders,
} from './custom-headers.js';

function problemsOf(raw: unknown, keepAllowed = false) {
  const parsed = parseCustomHeaders(raw, keepAllowed);
  return 'problems' in parsed ? parsed.problems : [];
}

describe('parseCustomHeaders', () => {
  it('keeps plain and secret headers, names in lower case', () => {
    expect(
      parseCustomHeaders(
        {
          'X-Api-Key': 'k-123',
          Authorization: { value: 'Bearer abc.def', secret: true },
          'X-Plain': { value: 'v' },
        },
        false,
      ),
    ).toEqual({
      headers: [
        { name: 'x-api-key', value: 'k-123', secret: false },
        { name: 'authorization', value: 'Bearer abc.def', secret: true },
        { name: 'x-plain', value: 'v', secret: false },
      ],
    });
  });

  it('refuses reserved names: Sluice’s, CloudEvents’, the framing’s and the connection’s', () => {
    for (const name of [
      'webhook-id',
      'Webhook-Signature',
      'content-type',
      'Content-Length',
      'host',
      'user-agent',
      'connection',
      'transfer-encoding',
      'keep-alive',
      'upgrade',
      'te',
      'ce-id',
      'CE-Type',
      'sluice-source-id',
      'proxy-authorization',
    ]) {
      expect(problemsOf({ [name]: 'x' }), name).toEqual([
        { field: `headers[${JSON.stringify(name)}]`, message: expect.stringContaining('is reserved') },
      ]);
    }
    expect(isReservedHeaderName('x-webhook-id')).toBe(false);
    expect(isReservedHeaderName('authorization')).toBe(false);
  });

  it('refuses names that are not RFC 9110 tokens and values with line breaks, never quoting a value', () => {
    const secretish = 'Bearer s3cr3t\r\nX-Injected: 1';
    const found = problemsOf({
      'X Bad': 'x',
      'x:colon': 'x',
      'x-ünicode': 'x',
      'x-crlf': secretish,
      'x-lf': { value: 'a\nb', secret: true },
      'x-nul': 'a\u0000b',
      'x-empty': '',
      'x-padded': ' x ',
      'x-long': 'x'.repeat(customHeaderLimits.maxValueChars + 1),
    });
    expect(found.map((problem) => problem.field)).toEqual([
      'headers["X Bad"]',
      'headers["x:colon"]',
      'headers["x-ünicode"]',
      'headers["x-crlf"]',
      'headers["x-lf"]',
      'headers["x-nul"]',
      'headers["x-empty"]',
      'headers["x-padded"]',
      'headers["x-long"]',
    ]);
    expect(JSON.stringify(found)).not.toContain('s3cr3t');
  });

  it('refuses duplicates by case, too many headers, too many bytes, and malformed header objects', () => {
    expect(problemsOf({ 'X-Key': 'a', 'x-key': 'b' })[0]!.message).toContain('given twice');
    const many = Object.fromEntries(
      Array.from({ length: customHeaderLimits.maxHeaders + 1 }, (_, i) => [`x-h${i}`, 'v']),
    );
    expect(problemsOf(many)[0]!.message).toContain(`at most ${customHeaderLimits.maxHeaders} headers`);
    const big = Object.fromEntries(Array.from({ length: 3 }, (_, i) => [`x-h${i}`, 'v'.repeat(4000)]));
    expect(problemsOf(big)[0]!.message).toContain('bytes of names and values');
    expect(problemsOf({ 'x-a': { value: 'v', secret: 'yes' } })[0]!.message).toBe(
      'secret must be true or false',
    );
    expect(problemsOf({ 'x-a': { value: 'v', hidden: true } })[0]!.message).toContain('unknown field hidden');
    expect(problemsOf({ 'x-a': 5 })[0]!.message).toContain('a header is a string');
    expect(problemsOf(['x-a']).length).toBe(1);
  });

  it('takes {"secret": true} without a value only in a patch, as "keep the stored value"', () => {
    expect(problemsOf({ authorization: { secret: true } })[0]!.message).toBe('value is required');
    expect(parseCustomHeaders({ authorization: { secret: true } }, true)).toEqual({
      headers: [{ name: 'authorization', value: undefined, secret: true }],
    });
  });
});

describe('resolveCustomHeaders and customHeadersResource', () => {
  const stored = [
    { name: 'authorization', value: 'Bearer old', secret: true },
    { name: 'x-plain', value: 'p', secret: false },
  ];

  it('keeps a stored secret value, and refuses to keep one that is not stored or not secret', () => {
    expect(
      resolveCustomHeaders(
        [
          { name: 'authorization', value: undefined, secret: true },
          { name: 'x-new', value: 'n', secret: false },
        ],
        stored,
      ),
    ).toEqual([
      { name: 'authorization', value: 'Bearer old', secret: true },
      { name: 'x-new', value: 'n', secret: false },
    ]);
    expect(resolveCustomHeaders([{ name: 'x-plain', value: undefined, secret: true }], stored)).toEqual([
      {
        field: 'headers["x-plain"]',
        message: expect.stringContaining('no secret value is stored for x-plain'),
      },
    ]);
  });

  it('shows plain values and hides secret ones', () => {
    expect(customHeadersResource(stored)).toEqual({ authorization: { secret: true }, 'x-plain': 'p' });
    expect(JSON.stringify(customHeadersResource(stored))).not.toContain('Bearer old');
    expect(customHeadersResource(undefined)).toEqual({});
  });
});
