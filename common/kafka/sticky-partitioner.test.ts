import { describe, expect, it, vi } from 'vitest';
import type { PartitionerArgs } from 'kafkajs';
import { StickyPartitioner } from './sticky-partitioner.js';

const metadata = (leaders: number[]) =>
  leaders.map((leader, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader,
    replicas: [],
    isr: [],
  }));

function args(partitions: PartitionerArgs['partitionMetadata'], key: string): PartitionerArgs {
  return { topic: 'attempts', partitionMetadata: partitions, message: { key, value: 'x' } };
}

describe('StickyPartitioner', () => {
  it('keeps one partition for 1000 records whatever their keys, then takes the next', () => {
    const partition = StickyPartitioner();
    const partitions = metadata([1, 1, 1, 1]);
    const chosen = Array.from({ length: 3000 }, (_, i) => partition(args(partitions, `evt_${i}`)));
    const runs = chosen.filter((value, i) => i === 0 || value !== chosen[i - 1]);
    expect(runs).toHaveLength(3);
    expect(new Set(runs).size).toBe(3);
    expect(chosen.filter((value) => value === chosen[0])).toHaveLength(1000);
  });

  it('moves on after a second even when few records were written, skipping leaderless partitions', () => {
    vi.useFakeTimers();
    try {
      const partition = StickyPartitioner();
      const partitions = metadata([1, -1, 1]);
      const seen = new Set<number>();
      for (let i = 0; i < 6; i++) {
        seen.add(partition(args(partitions, 'same-key')));
        vi.advanceTimersByTime(1001);
      }
      expect([...seen].sort()).toEqual([0, 2]);
    } finally {
      vi.useRealTimers();
    }
  });
});
