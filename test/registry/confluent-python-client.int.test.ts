import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { prepareIngestGateway } from '../gateway/ingest-client.js';
import { startTestGateway } from '../support/gateway-fixture.js';
import { connectedAdmin } from '../support/kafka-fixture.js';
import { testKafkaBrokers, uniqueName } from '../support/stack-env.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');

interface RefusalSeen {
  status: number;
  errorCode: number;
  message: string;
}

interface Report {
  schemaTypes: string[];
  unauthenticated: RefusalSeen;
  subjectsBefore: string[];
  v1: { id: number; latest: number };
  incompatibleTest: boolean;
  incompatible: RefusalSeen;
  producerWrite: RefusalSeen;
  versionsAfterRefusals: number[];
  v2: { id: number; versions: number[] };
  v1Again: number;
  globalCompatibility: string;
  posted: Array<{ id: string; data: Record<string, unknown> }>;
  records: Array<{
    key: string;
    id: string;
    type: string;
    magic: number;
    schemaId: number;
    data: Record<string, unknown>;
  }>;
}

/** The venv's python (installed on first use; silent and quick afterwards). */
async function confluentPython(): Promise<string> {
  const { stdout } = await run('bash', [join(root, 'scripts/ensure-python-packages.sh'), '--print-path'], {
    cwd: root,
    timeout: 300_000,
  });
  return stdout.trim();
}

describe("Confluent's Python client against /registry", () => {
  it('registers a new type, has an incompatible version refused, and decodes every record Sluice wrote, field for field', async () => {
    const python = await confluentPython();
    const schemasTopic = uniqueName('schemas');
    const setup = await prepareIngestGateway(
      [
        { producerId: 'ops', role: 'admin' },
        { producerId: 'shop', allowedEventTypes: ['shipment.*'] },
      ],
      // A registry of this test: it registers a type no other test may see.
      { SLUICE_SCHEMAS_TOPIC: schemasTopic },
    );
    const admin = await connectedAdmin();
    onTestFinished(async () => {
      await admin.deleteTopics({ topics: [schemasTopic] }).catch(() => undefined);
    });
    const { url } = await startTestGateway(setup);

    const { stdout } = await run(
      python,
      [
        join(root, 'test/python/confluent_roundtrip.py'),
        `--gateway=${url}`,
        `--admin-key=${setup.keys.ops}`,
        `--producer-key=${setup.keys.shop}`,
        `--brokers=${testKafkaBrokers.join(',')}`,
        `--topic=${setup.eventsTopic}`,
      ],
      { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
    ).catch((error: { stderr?: string; message: string }) => {
      throw new Error(`the Python client failed: ${error.stderr ?? error.message}`);
    });
    const report = JSON.parse(stdout) as Report;

    expect(report.schemaTypes).toEqual(['AVRO']);
    expect(report.unauthenticated).toMatchObject({ status: 401, errorCode: 401 });
    expect(report.subjectsBefore).toEqual([]);
    expect(report.v1).toEqual({ id: 1, latest: 1 });

    // The BACKWARD-incompatible version: refused with Confluent's 409, naming the field; nothing stored.
    expect(report.incompatibleTest).toBe(false);
    expect(report.incompatible).toMatchObject({ status: 409, errorCode: 409 });
    expect(report.incompatible.message).toContain('data.priority');
    expect(report.producerWrite).toMatchObject({ status: 403, errorCode: 403 });
    expect(report.versionsAfterRefusals).toEqual([1]);

    // The compatible one: a new id and version; v1 registered again answers its own id.
    expect(report.v2).toEqual({ id: 2, versions: [1, 2] });
    expect(report.v1Again).toBe(1);
    expect(report.globalCompatibility).toBe('BACKWARD');

    // Every record of the topic, decoded by AvroDeserializer, equals what was posted.
    expect(report.records).toHaveLength(report.posted.length);
    const byId = new Map(report.records.map((record) => [record.id, record]));
    for (const [index, posted] of report.posted.entries()) {
      const record = byId.get(posted.id);
      expect(record, posted.id).toMatchObject({
        type: 'shipment.delayed',
        key: posted.data.shipmentId,
        magic: 0,
        schemaId: index < 5 ? 1 : 2,
      });
      expect(record!.data).toEqual(posted.data);
    }
  });
});
