/** What `decode` makes of one record of the topic. */
export interface DecodedTopicRecord<V> {
  /** Undefined when not even the key could be read: nothing in the view changes. */
  key: string | undefined;
  /** Undefined for a tombstone or an unreadable record: the key leaves the view. */
  value: V | undefined;
  /** Set when the record could not be read; listeners log and count it. */
  problem?: { reason: string; message: string } | undefined;
}

/** One change applied to the view, as listeners see it. */
export interface TopicChange<V> extends DecodedTopicRecord<V> {
  partition: number;
  offset: bigint;
  /** `write`: this process wrote it and applied it on Kafka's acknowledgement. */
  source: 'topic' | 'write';
}

/**
 * The Kafka-free part of a compacted topic view: the latest value per key, how far each partition
 * was applied, whether the end found at start was reached, and the own-write rule. Pure, so it is
 * tested without a broker.
 */
export class CompactedTopicState<V> {
  private readonly values = new Map<string, V>();
  /** Next offset to apply, per partition: a record below it is already in the view. */
  private readonly nextOffsets = new Map<number, bigint>();
  /** High watermarks found at start: the view is caught up once every partition reaches them. */
  private targets = new Map<number, bigint>();
  /**
   * Offsets of this process's writes applied before its consumer reached them, per key: older
   * records of that key are not applied on the way, so the view never steps back in time.
   */
  private readonly ownWrites = new Map<string, bigint>();
  private partitionCount = 0;
  private caughtUp = false;

  get(key: string): V | undefined {
    return this.values.get(key);
  }

  entries(): IterableIterator<[string, V]> {
    return this.values.entries();
  }

  get size(): number {
    return this.values.size;
  }

  isCaughtUp(): boolean {
    return this.caughtUp;
  }

  /** The next offset to apply in `partition`: every record below it is in the view. */
  position(partition: number): bigint {
    return this.nextOffsets.get(partition) ?? 0n;
  }

  /**
   * Sets the end to reach from the offsets found at start. Returns true when that already makes
   * the view caught up (every partition empty or fully compacted).
   */
  setTargets(offsets: ReadonlyArray<{ partition: number; low: string; high: string }>): boolean {
    this.partitionCount = offsets.length;
    this.targets = new Map(offsets.map((p) => [p.partition, BigInt(p.high)]));
    for (const p of offsets) {
      // An empty (or fully compacted) partition needs no reading to be caught up.
      if (BigInt(p.high) <= BigInt(p.low)) this.targets.delete(p.partition);
    }
    return this.checkCaughtUp();
  }

  /** Records that the consumer passed `next - 1`. Returns true when this made the view caught up. */
  advance(partition: number, next: bigint): boolean {
    if (next > (this.nextOffsets.get(partition) ?? 0n)) this.nextOffsets.set(partition, next);
    return !this.caughtUp && this.checkCaughtUp();
  }

  /**
   * The consumer found no more records although a start-time high watermark was not reached (its
   * last records were compacted away). Only unambiguous with one partition: one fetch covers it.
   * Returns true when this made the view caught up.
   */
  reachedLogEnd(): boolean {
    if (this.caughtUp || this.partitionCount !== 1) return false;
    this.caughtUp = true;
    return true;
  }

  /** Applies a consumed record; returns the change, or undefined when it is not news. */
  applyConsumed(
    partition: number,
    offset: bigint,
    decode: () => DecodedTopicRecord<V>,
  ): TopicChange<V> | undefined {
    // Already in the view: a re-read after the consumer restarted or rejoined.
    if (offset < (this.nextOffsets.get(partition) ?? 0n)) return undefined;
    this.advance(partition, offset + 1n);
    const decoded = decode();
    const { key } = decoded;
    if (key !== undefined) {
      const own = this.ownWrites.get(key);
      if (own !== undefined) {
        // Older records of this key are history; the own write itself is already in the view.
        if (offset <= own) {
          if (offset === own) this.ownWrites.delete(key);
          return undefined;
        }
        this.ownWrites.delete(key);
      }
      this.set(key, decoded.value);
    }
    return { ...decoded, partition, offset, source: 'topic' };
  }

  /**
   * Applies this process's acknowledged write at `offset`; returns the change, or undefined when
   * the consumer already applied it (and maybe newer records), so the view is current.
   */
  applyWritten(
    key: string,
    value: V | undefined,
    partition: number,
    offset: bigint,
  ): TopicChange<V> | undefined {
    if ((this.nextOffsets.get(partition) ?? 0n) > offset) return undefined;
    this.set(key, value);
    this.ownWrites.set(key, offset);
    return { key, value, partition, offset, source: 'write' };
  }

  /** Applies a write whose position Kafka did not report. */
  applyUnplaced(key: string, value: V | undefined): TopicChange<V> {
    this.set(key, value);
    return { key, value, partition: -1, offset: -1n, source: 'write' };
  }

  private set(key: string, value: V | undefined): void {
    if (value === undefined) this.values.delete(key);
    else this.values.set(key, value);
  }

  private checkCaughtUp(): boolean {
    if (this.caughtUp) return false;
    for (const [partition, target] of this.targets) {
      if ((this.nextOffsets.get(partition) ?? 0n) < target) return false;
    }
    this.caughtUp = true;
    return true;
  }
}
