/**
 * A dead letter as the delivery log stores it (`dead_letters`, log/migrations/0003_dead_letters.sql)
 * and the gateway's log API reads it: written by `sluice log`, read by the gateway.
 */
export interface DeadLetterSummary {
  /** `<topic>-<partition>-<offset>`: stable, so a record read twice is stored once. */
  id: string;
  deadLetteredAt: string;
  eventId: string | null;
  eventType: string | null;
  producerId: string | null;
  subscriptionId: string | null;
  reason: string;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  source: { topic: string; partition: number; offset: string } | null;
}

/** A dead letter with the record it holds, as the dead-letter topic has it. */
export interface DeadLetterRecord extends DeadLetterSummary {
  key: Buffer | null;
  value: Buffer | null;
  headers: Readonly<Record<string, string>>;
}
