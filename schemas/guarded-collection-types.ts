import avro from 'avsc';

/**
 * avsc reads the item count of an array or map block from the record itself and loops that many
 * times, even past the end of the buffer. One corrupt count (say 2^31) in a poison record would
 * make a consumer allocate until it is killed, then crash-loop on the same offset. Every map entry
 * takes at least one byte (its key's length), and the catalog policy forbids arrays of zero-byte
 * items, so a count larger than the bytes left is corrupt: we throw, and decoding reports it.
 */

/** The parts of avsc's internal cursor (`Tap`) these readers use. Pinned to avsc 5.7.x. */
interface AvroTap {
  buf: Buffer;
  pos: number;
  readLong(): number;
  skipLong(): void;
  readString(): string;
}

interface InternalType {
  _read(tap: AvroTap): unknown;
}

function readBlockCount(tap: AvroTap): number {
  let count = tap.readLong();
  if (count < 0) {
    // A negative count is followed by the block's size in bytes, which we do not need.
    count = -count;
    tap.skipLong();
  }
  const bytesLeft = tap.buf.length - tap.pos;
  if (count > bytesLeft) {
    throw new Error(`corrupt Avro block: ${count} items announced but ${Math.max(0, bytesLeft)} bytes left`);
  }
  return count;
}

export class GuardedArrayType extends avro.types.ArrayType {
  _read(tap: AvroTap): unknown[] {
    const items = this.itemsType as unknown as InternalType;
    const values: unknown[] = [];
    for (let count = readBlockCount(tap); count > 0; count = readBlockCount(tap)) {
      for (let index = 0; index < count; index++) values.push(items._read(tap));
    }
    return values;
  }
}

export class GuardedMapType extends avro.types.MapType {
  _read(tap: AvroTap): Record<string, unknown> {
    const values = this.valuesType as InternalType;
    const map: Record<string, unknown> = {};
    for (let count = readBlockCount(tap); count > 0; count = readBlockCount(tap)) {
      for (let index = 0; index < count; index++) {
        const key = tap.readString();
        const value = values._read(tap);
        // Plain assignment of `__proto__` would replace the object's prototype instead of adding a key.
        if (key === '__proto__') {
          Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
        } else {
          map[key] = value;
        }
      }
    }
    return map;
  }
}
