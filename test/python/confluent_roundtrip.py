"""Confluent's own Python client against a running Sluice gateway.

Run by test/registry/confluent-python-client.int.test.ts with the venv of
scripts/ensure-python-packages.sh. Registers a new event type through /registry with
SchemaRegistryClient (HTTP Basic, the API key as the password), sends events of it to /v1/events,
has a BACKWARD-incompatible version refused and a compatible one accepted, sends events of that
version, then reads every record of the events topic with confluent-kafka's Consumer and decodes
it with AvroDeserializer pointed at Sluice's registry. Prints one JSON report on stdout; the
TypeScript test compares what was posted with what was decoded. Any failure raises (exit 1).
"""

import argparse
import json
import sys
import time
import urllib.request
import uuid

from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

SUBJECT = "shipment.delayed"

FIELDS_V1 = [
    {"name": "shipmentId", "type": "string"},
    {"name": "delayMinutes", "type": "int"},
    {"name": "expectedAt", "type": "long"},
    {"name": "express", "type": "boolean"},
    {"name": "cost", "type": "double"},
    {"name": "carrier", "type": ["null", "string"], "default": None},
    {"name": "reasons", "type": {"type": "array", "items": "string"}},
    {
        "name": "cause",
        "type": {"type": "enum", "name": "DelayCause", "symbols": ["WEATHER", "CUSTOMS", "CAPACITY"]},
    },
    {"name": "attributes", "type": {"type": "map", "values": "string"}},
]


def schema_text(extra_fields):
    return json.dumps(
        {
            "type": "record",
            "name": "ShipmentDelayed",
            "namespace": "dev.sluice.test.shipment",
            "doc": "A shipment arrives later than promised.",
            "fields": FIELDS_V1 + extra_fields,
        }
    )


# BACKWARD: the new schema must read data written with v1. A new field without a default cannot.
INCOMPATIBLE = schema_text([{"name": "priority", "type": "string"}])
COMPATIBLE = schema_text([{"name": "priority", "type": ["null", "string"], "default": None}])


def shipment(index, **extra):
    return {
        "shipmentId": f"shp-{index}",
        "delayMinutes": 30 + index,
        "expectedAt": 1_780_000_000_000 + index,
        "express": index % 2 == 0,
        "cost": 12.5 + index,
        "carrier": None if index % 3 == 0 else f"carrier-{index}",
        "reasons": ["storm", "détour"][: index % 3],
        "cause": ["WEATHER", "CUSTOMS", "CAPACITY"][index % 3],
        "attributes": {"hub": f"hub-{index}"} if index % 2 else {},
        **extra,
    }


def post_event(gateway, key, data):
    event = {"type": SUBJECT, "id": f"py-{uuid.uuid4()}", "key": data["shipmentId"], "data": data}
    request = urllib.request.Request(
        f"{gateway}/v1/events",
        data=json.dumps(event).encode(),
        method="POST",
        headers={"content-type": "application/json", "authorization": f"Bearer {key}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        if response.status != 202:
            raise RuntimeError(f"POST /v1/events answered {response.status}")
    return {"id": event["id"], "data": data}


def registry_error(call):
    """The SchemaRegistryError a call raises, as plain values; raises if it succeeds."""
    try:
        call()
    except SchemaRegistryError as error:
        return {"status": error.http_status_code, "errorCode": error.error_code, "message": error.error_message}
    raise RuntimeError("the registry accepted what it should have refused")


def read_all(brokers, topic, registry, expected, timeout_s=60):
    """Every record of every partition of `topic`, decoded by AvroDeserializer."""
    consumer = Consumer(
        {
            "bootstrap.servers": brokers,
            "group.id": f"sluice-python-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
        total = sum(ends.values())
        if total < expected:
            raise RuntimeError(f"{topic} holds {total} records, {expected} were posted")
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        deserialize = AvroDeserializer(registry)
        records = []
        deadline = time.monotonic() + timeout_s
        while len(records) < total:
            if time.monotonic() > deadline:
                raise RuntimeError(f"read {len(records)} of {total} records in {timeout_s} s")
            message = consumer.poll(1.0)
            if message is None:
                continue
            if message.error():
                raise RuntimeError(str(message.error()))
            value = message.value()
            headers = {name: raw.decode() for name, raw in (message.headers() or [])}
            records.append(
                {
                    "partition": message.partition(),
                    "offset": message.offset(),
                    "key": message.key().decode(),
                    "id": headers.get("ce_id"),
                    "type": headers.get("ce_type"),
                    "magic": value[0],
                    "schemaId": int.from_bytes(value[1:5], "big"),
                    "data": deserialize(value, SerializationContext(topic, MessageField.VALUE, message.headers())),
                }
            )
        return records
    finally:
        consumer.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gateway", required=True, help="http://127.0.0.1:<port>")
    parser.add_argument("--admin-key", required=True)
    parser.add_argument("--producer-key", required=True)
    parser.add_argument("--brokers", required=True)
    parser.add_argument("--topic", required=True)
    args = parser.parse_args()
    registry_url = f"{args.gateway}/registry"
    # Writes with the admin key; the deserializer reads with a producer key (reads take any key).
    admin = SchemaRegistryClient({"url": registry_url, "basic.auth.user.info": f"ops:{args.admin_key}"})
    reader = SchemaRegistryClient({"url": registry_url, "basic.auth.user.info": f"shop:{args.producer_key}"})
    stranger = SchemaRegistryClient({"url": registry_url, "basic.auth.user.info": "ops:sk_not_a_key"})
    report = {"schemaTypes": admin.get_schema_types()}

    report["unauthenticated"] = registry_error(stranger.get_subjects)
    report["subjectsBefore"] = admin.get_subjects()
    v1 = admin.register_schema(SUBJECT, Schema(schema_text([]), "AVRO"))
    report["v1"] = {"id": v1, "latest": admin.get_latest_version(SUBJECT).version}
    posted = [post_event(args.gateway, args.producer_key, shipment(i)) for i in range(5)]

    report["incompatibleTest"] = admin.test_compatibility(SUBJECT, Schema(INCOMPATIBLE, "AVRO"))
    report["incompatible"] = registry_error(lambda: admin.register_schema(SUBJECT, Schema(INCOMPATIBLE, "AVRO")))
    report["producerWrite"] = registry_error(lambda: reader.register_schema(SUBJECT, Schema(COMPATIBLE, "AVRO")))
    report["versionsAfterRefusals"] = admin.get_versions(SUBJECT)

    v2 = admin.register_schema(SUBJECT, Schema(COMPATIBLE, "AVRO"))
    # get_latest_version caches forever without cache.latest.ttl.sec: list the versions instead.
    report["v2"] = {"id": v2, "versions": admin.get_versions(SUBJECT)}
    report["v1Again"] = admin.register_schema(SUBJECT, Schema(schema_text([]), "AVRO"))
    report["globalCompatibility"] = admin.get_compatibility()
    posted += [post_event(args.gateway, args.producer_key, shipment(i, priority=f"p{i}")) for i in range(5, 8)]

    report["posted"] = posted
    report["records"] = read_all(args.brokers, args.topic, reader, len(posted))
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
