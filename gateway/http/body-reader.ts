import { SluiceError } from '../../common/errors.js';
import { RequestAbortedError, type HttpExchange } from './http-exchange.js';
import { declaredContentLength } from './request-head.js';

export interface ReadBodyOptions {
  /** The largest body accepted, in bytes; one byte more answers 413 without buffering the rest. */
  maxBodyBytes: number;
  /** The body length announced by the client; defaults to the request's `Content-Length`. */
  declaredLength?: number | undefined;
}

const emptyBody = Buffer.alloc(0);

/**
 * Reads the whole request body into one Buffer, enforcing `maxBodyBytes` (uWS has no limit of its
 * own and v20.30 has no `collectBody`). Must be called before the route handler's first `await`:
 * uWS drops body chunks that arrive before `onData` is attached.
 *
 * Rejects with `SLUICE_BODY_TOO_LARGE` at once when `Content-Length` exceeds the limit (nothing is
 * read), or as soon as the bytes counted pass it (chunked bodies); the exchange then closes the
 * connection when it answers, so the client stops sending. Rejects with `RequestAbortedError` if the
 * client goes away first, and with `SLUICE_MALFORMED_REQUEST` for an unusable `Content-Length`.
 */
export function readBody(exchange: HttpExchange, options: ReadBodyOptions): Promise<Buffer> {
  const { maxBodyBytes } = options;
  const declared = options.declaredLength ?? declaredContentLength(exchange.head);
  if (declared === 'invalid') {
    return Promise.reject(
      new SluiceError('SLUICE_MALFORMED_REQUEST', 'Content-Length must be a decimal number of bytes'),
    );
  }
  if (declared !== undefined && declared > maxBodyBytes) return Promise.reject(tooLarge(maxBodyBytes));
  if (exchange.aborted) return Promise.reject(new RequestAbortedError());
  if (!exchange.requestBodyPending) return Promise.resolve(emptyBody);

  return new Promise<Buffer>((resolve, reject) => {
    const collector = declared === undefined ? new ChunkList() : new PreallocatedBody(declared);
    let settled = false;
    const settle = (error: Error | undefined, body?: Buffer): void => {
      if (settled) return;
      settled = true;
      unsubscribe();
      if (error) reject(error);
      else resolve(body ?? emptyBody);
    };
    const unsubscribe = exchange.onAbort(() => settle(new RequestAbortedError()));

    try {
      exchange.onData((chunk, isLast) => {
        if (settled) return;
        if (collector.byteLength + chunk.byteLength > maxBodyBytes) {
          // Stop here: the rest of the body is never buffered; answering closes the connection.
          settle(tooLarge(maxBodyBytes));
          return;
        }
        // `chunk` is neutered when this callback returns: `add` copies it.
        const problem = collector.add(chunk);
        if (problem) settle(problem);
        else if (isLast) settle(undefined, collector.finish());
      });
    } catch (error) {
      settle(error instanceof Error ? error : new Error(String(error)));
    }
  });
}

function tooLarge(maxBodyBytes: number): SluiceError {
  return new SluiceError('SLUICE_BODY_TOO_LARGE', `the request body exceeds ${maxBodyBytes} bytes`, {
    details: { maxBodyBytes },
  });
}

interface BodyCollector {
  readonly byteLength: number;
  /** Copies the chunk; returns an error when it cannot be accepted. */
  add(chunk: ArrayBuffer): SluiceError | undefined;
  finish(): Buffer;
}

/** Length known from Content-Length: one allocation, each chunk copied into place. */
class PreallocatedBody implements BodyCollector {
  byteLength = 0;
  private buffer: Buffer | undefined;

  constructor(private readonly declaredBytes: number) {}

  add(chunk: ArrayBuffer): SluiceError | undefined {
    if (chunk.byteLength === 0) return undefined;
    if (this.byteLength + chunk.byteLength > this.declaredBytes) {
      // uWS frames bodies by Content-Length, so this means a parser bug; never write out of bounds.
      return new SluiceError(
        'SLUICE_MALFORMED_REQUEST',
        'the request body is longer than its Content-Length',
      );
    }
    // Allocated on the first byte rather than on the headers, so a client that announces a large
    // body and then idles holds no memory.
    this.buffer ??= Buffer.allocUnsafe(this.declaredBytes);
    this.buffer.set(new Uint8Array(chunk), this.byteLength);
    this.byteLength += chunk.byteLength;
    return undefined;
  }

  finish(): Buffer {
    // Shorter than declared only if uWS ended early; never expose the uninitialised tail.
    return this.buffer === undefined ? emptyBody : this.buffer.subarray(0, this.byteLength);
  }
}

/** Length unknown (chunked transfer): copies kept in a list, joined once at the end. */
class ChunkList implements BodyCollector {
  byteLength = 0;
  private readonly chunks: Buffer[] = [];

  add(chunk: ArrayBuffer): SluiceError | undefined {
    if (chunk.byteLength === 0) return undefined;
    this.chunks.push(Buffer.copyBytesFrom(new Uint8Array(chunk)));
    this.byteLength += chunk.byteLength;
    return undefined;
  }

  finish(): Buffer {
    if (this.chunks.length === 1) return this.chunks[0] as Buffer;
    return Buffer.concat(this.chunks, this.byteLength);
  }
}
