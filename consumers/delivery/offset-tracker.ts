import { SluiceError } from '../../common/errors.js';

interface Entry {
  readonly offset: bigint;
  resolved: boolean;
  /** When the record's event happened (ms), for the oldest-undelivered-event gauge. */
  readonly eventTimeMs: number | undefined;
}

/**
 * The records of one partition that were handed to delivery tasks, and which of them are done.
 * Tasks finish in any order; the committable offset only moves past a record once it and every
 * record before it are resolved (delivered, written to a retry tier, or dead-lettered), so a
 * crash or rebalance re-reads — never skips — unfinished work.
 *
 * Offsets must be tracked in increasing order, but need not be contiguous (compaction and
 * transaction markers leave gaps).
 */
export class OffsetTracker {
  // A queue with a moving head: resolved entries at the front are dropped in O(1) amortised.
  private entries: Entry[] = [];
  private head = 0;
  private readonly byOffset = new Map<bigint, Entry>();
  private lastTracked: bigint | undefined;
  private unresolved = 0;

  /** Starts tracking a dispatched record. */
  track(offset: bigint | string, eventTimeMs?: number): void {
    const value = BigInt(offset);
    if (this.lastTracked !== undefined && value <= this.lastTracked) {
      throw new SluiceError(
        'SLUICE_INTERNAL',
        `offsets must be tracked in increasing order: ${value} after ${this.lastTracked}`,
      );
    }
    const entry: Entry = { offset: value, resolved: false, eventTimeMs };
    this.entries.push(entry);
    this.byOffset.set(value, entry);
    this.lastTracked = value;
    this.unresolved++;
  }

  /** Marks a record resolved; false when it was not tracked (or already resolved). */
  resolve(offset: bigint | string): boolean {
    const value = BigInt(offset);
    const entry = this.byOffset.get(value);
    if (entry === undefined || entry.resolved) return false;
    entry.resolved = true;
    this.byOffset.delete(value);
    this.unresolved--;
    this.dropResolvedHead();
    return true;
  }

  /**
   * The offset to commit (Kafka's "next record to read"): the lowest unresolved offset, or one past
   * the last tracked record when everything is resolved. Undefined before anything was tracked.
   */
  committable(): bigint | undefined {
    const first = this.entries[this.head];
    if (first !== undefined) return first.offset;
    return this.lastTracked === undefined ? undefined : this.lastTracked + 1n;
  }

  /** One past the last tracked offset: records below it were already dispatched. */
  nextOffset(): bigint | undefined {
    return this.lastTracked === undefined ? undefined : this.lastTracked + 1n;
  }

  /** Records dispatched and not yet resolved. */
  inFlight(): number {
    return this.unresolved;
  }

  /** Event time of the lowest unresolved record (roughly the oldest undelivered event here). */
  oldestUnresolvedEventTimeMs(): number | undefined {
    return this.entries[this.head]?.eventTimeMs;
  }

  private dropResolvedHead(): void {
    while (this.head < this.entries.length && this.entries[this.head]!.resolved) this.head++;
    // Compact now and then so the array does not grow without bound.
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}
