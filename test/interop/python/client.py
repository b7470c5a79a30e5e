"""The interop scenarios, as a Python service would run them with grpcio.

Run by test/interop/python.test.ts with PYTHONPATH holding the client
generated from proto/, google.rpc.Status, and grpc_health / grpc_reflection
(as grpcio-health-checking and grpcio-reflection ship them). Every channel
keeps grpcio's defaults. Prints one JSON object; test/interop/scenarios.ts
says what each field must be.

    client.py GATEWAY_ADDRESS UNTHROTTLED_GATEWAY_ADDRESS GENERATED_DIR
"""

import importlib.util
import json
import math
import os
import sys
import time

import grpc
from google.rpc import status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

# Every module generated from proto/, loaded from its file (grpcio aliases
# grpc.health and grpc.reflection to grpc_health and grpc_reflection, which
# would hide a generated copy), next to the health and reflection packages:
# a message defined twice fails here.
GENERATED = sys.argv[3]
for directory, _, files in sorted(os.walk(GENERATED)):
    for file in sorted(f for f in files if f.endswith(".py")):
        path = os.path.join(directory, file)
        name = os.path.relpath(path, GENERATED)[: -len(".py")].replace(os.sep, ".")
        if name not in sys.modules:
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)

from kinesis.gateway.v1 import (  # noqa: E402
    common_pb2,
    consumer_pb2,
    consumer_pb2_grpc,
    producer_pb2,
    producer_pb2_grpc,
    stream_pb2,
    stream_pb2_grpc,
)

SEED_STREAM = "orders"
THROTTLED_STREAM = "throttled"
BACKLOG_STREAM = "backlog"
BACKLOG_RECORDS = 12
BACKLOG_RECORD_BYTES = 900 * 1024
BACKLOG_RECORDS_PER_CALL = 4
ERROR_DEADLINE_S = 5
READ_DEADLINE_S = 10
SUBSCRIPTION_DEADLINE_S = 0.2
SUBSCRIPTION_DEADLINE_TRIES = 20
PATTERN = bytes(range(251)) * (BACKLOG_RECORD_BYTES // 251 + 2)


def backlog_data(index):
    """Record `index` of the backlog: its index, then bytes that say where they belong."""
    return index.to_bytes(4, "big") + PATTERN[index : index + BACKLOG_RECORD_BYTES - 4]


def grpc_message_bytes(message):
    """What `message` takes in `grpc-message`: UTF-8, percent-encoded outside printable ASCII."""
    return sum(1 if 0x20 <= b <= 0x7E and b != 0x25 else 3 for b in message.encode("utf-8"))


def error_result(error, elapsed_s):
    """The status, message and decoded KinesisErrorDetail of a failed call."""
    trailers = dict(error.trailing_metadata() or ())
    details_bin = trailers.get("grpc-status-details-bin")
    message = error.details() or ""
    result = {
        "code": error.code().value[0],
        "message": message,
        "detail": None,
        "statusProto": None,
        "metadataBytes": grpc_message_bytes(message)
        + (4 * math.ceil(len(details_bin) / 3) if details_bin else 0),
        "elapsedMs": round(elapsed_s * 1000),
    }
    if details_bin:
        status = status_pb2.Status.FromString(details_bin)
        result["statusProto"] = {"code": status.code, "message": status.message}
        for any_detail in status.details:
            detail = common_pb2.KinesisErrorDetail()
            if any_detail.Unpack(detail):
                result["detail"] = {"type": detail.type, "message": detail.message}
    return result


def outcome(call):
    """`call()`'s error as `error_result`, or `{"code": 0}` when it succeeded."""
    started = time.monotonic()
    try:
        call()
    except grpc.RpcError as error:
        return error_result(error, time.monotonic() - started)
    return {"code": 0, "elapsedMs": round((time.monotonic() - started) * 1000)}


def scenario(run):
    """Runs a scenario; an unexpected exception becomes its result, so the others still run."""
    try:
        return run()
    except Exception as error:  # noqa: BLE001 — reported to the test, which fails on it
        return {"exception": f"{type(error).__name__}: {error}"}


def packages(channel):
    health = health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service=""), timeout=ERROR_DEADLINE_S
    )
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
        timeout=ERROR_DEADLINE_S,
    )
    services = [s.name for s in next(reflection).list_services_response.service]
    return {
        "health": health_pb2.HealthCheckResponse.ServingStatus.Name(health.status),
        "reflectionServices": services,
    }


def seed(producer):
    response = producer.PutRecords(
        producer_pb2.PutRecordsRequest(
            stream_name=SEED_STREAM,
            records=[
                producer_pb2.PutRecordsRequestEntry(data=b"blob1", partition_key="partitionkey1"),
                producer_pb2.PutRecordsRequestEntry(data=b"blob2", partition_key="partitionkey2"),
            ],
        ),
        timeout=ERROR_DEADLINE_S,
    )
    return {
        "failedRecordCount": response.failed_record_count,
        "records": [
            {"shardId": r.shard_id, "sequenceNumber": r.sequence_number, "errorCode": r.error_code}
            for r in response.records
        ],
    }


def put_records_error(producer, stream, records):
    request = producer_pb2.PutRecordsRequest(stream_name=stream, records=records)
    return outcome(lambda: producer.PutRecords(request, timeout=ERROR_DEADLINE_S))


def keyed(key, count):
    return [producer_pb2.PutRecordsRequestEntry(data=b"x", partition_key=key) for _ in range(count)]


def errors(producer):
    explicit = producer_pb2.PutRecordRequest(
        stream_name=SEED_STREAM, data=b"x", partition_key="k", explicit_hash_key="😀" * 3000
    )
    return {
        "unknownStream": put_records_error(producer, "nostream", keyed("k", 1)),
        "tooManyRecords": put_records_error(producer, SEED_STREAM, keyed("k", 501)),
        "longPartitionKeysAscii": put_records_error(producer, SEED_STREAM, keyed("p" * 257, 10)),
        "longPartitionKeysAccented": put_records_error(producer, SEED_STREAM, keyed("é" * 257, 10)),
        "longPartitionKeysEmoji": put_records_error(producer, SEED_STREAM, keyed("😀" * 257, 10)),
        "emojiExplicitHashKey": outcome(
            lambda: producer.PutRecord(explicit, timeout=ERROR_DEADLINE_S)
        ),
    }


def throttling(producer):
    records = [
        producer_pb2.PutRecordsRequestEntry(data=bytes(3 * 1024), partition_key=f"k{i}")
        for i in range(500)
    ]
    response = producer.PutRecords(
        producer_pb2.PutRecordsRequest(stream_name=THROTTLED_STREAM, records=records),
        timeout=ERROR_DEADLINE_S,
    )
    single = producer_pb2.PutRecordRequest(
        stream_name=THROTTLED_STREAM, data=bytes(BACKLOG_RECORD_BYTES), partition_key="k"
    )
    return {
        "failedRecordCount": response.failed_record_count,
        "records": [
            {"shardId": r.shard_id, "errorCode": r.error_code, "errorMessage": r.error_message}
            for r in response.records
        ],
        "putRecord": outcome(lambda: producer.PutRecord(single, timeout=ERROR_DEADLINE_S)),
    }


def received(record, arrivals):
    data = record.data
    index = int.from_bytes(data[:4], "big")
    arrivals.append(
        {
            "index": index,
            "sequenceNumber": record.sequence_number,
            "intact": data == backlog_data(index),
        }
    )


def backlog(channel):
    producer = producer_pb2_grpc.ProducerServiceStub(channel)
    consumer = consumer_pb2_grpc.ConsumerServiceStub(channel)
    for first in range(0, BACKLOG_RECORDS, BACKLOG_RECORDS_PER_CALL):
        response = producer.PutRecords(
            producer_pb2.PutRecordsRequest(
                stream_name=BACKLOG_STREAM,
                records=[
                    producer_pb2.PutRecordsRequestEntry(
                        data=backlog_data(i), partition_key="backlog"
                    )
                    for i in range(first, first + BACKLOG_RECORDS_PER_CALL)
                ],
            ),
            timeout=READ_DEADLINE_S,
        )
        if response.failed_record_count:
            raise RuntimeError(f"{response.failed_record_count} backlog records failed")
    return {
        "getRecords": scenario(lambda: read_with_get_records(consumer)),
        "subscribeToShard": scenario(lambda: read_with_subscription(consumer)),
    }


def read_with_get_records(consumer):
    iterator = consumer.GetShardIterator(
        consumer_pb2.GetShardIteratorRequest(
            stream_name=BACKLOG_STREAM,
            shard_id="shardId-000000000000",
            shard_iterator_type=consumer_pb2.SHARD_ITERATOR_TYPE_TRIM_HORIZON,
        ),
        timeout=ERROR_DEADLINE_S,
    ).shard_iterator
    arrivals, records_per_call, error = [], [], None
    # Past the backlog, two calls in a row with nothing new: caught up.
    while len(records_per_call) < 2 * BACKLOG_RECORDS + 4:
        started = time.monotonic()
        try:
            response = consumer.GetRecords(
                consumer_pb2.GetRecordsRequest(shard_iterator=iterator), timeout=READ_DEADLINE_S
            )
        except grpc.RpcError as failure:
            error = error_result(failure, time.monotonic() - started)
            break
        records_per_call.append(len(response.records))
        for record in response.records:
            received(record, arrivals)
        iterator = response.next_shard_iterator
        if not iterator or (records_per_call[-2:] == [0, 0] and len(arrivals) >= BACKLOG_RECORDS):
            break
    return {"records": arrivals, "recordsPerCall": records_per_call, "error": error}


def read_with_subscription(consumer):
    request = consumer_pb2.SubscribeToShardRequest(
        stream_name=BACKLOG_STREAM,
        shard_id="shardId-000000000000",
        starting_position=consumer_pb2.StartingPosition(
            type=consumer_pb2.SHARD_ITERATOR_TYPE_TRIM_HORIZON
        ),
    )
    arrivals, records_per_event, error = [], [], None
    started = time.monotonic()
    call = consumer.SubscribeToShard(request, timeout=READ_DEADLINE_S)
    try:
        for event in call:
            records_per_event.append(len(event.records))
            for record in event.records:
                received(record, arrivals)
            if len(arrivals) >= BACKLOG_RECORDS:
                break
    except grpc.RpcError as failure:
        error = error_result(failure, time.monotonic() - started)
    finally:
        call.cancel()
    return {"records": arrivals, "recordsPerEvent": records_per_event, "error": error}


def subscription_deadline(consumer):
    request = consumer_pb2.SubscribeToShardRequest(
        stream_name=SEED_STREAM,
        shard_id="shardId-000000000001",
        starting_position=consumer_pb2.StartingPosition(
            type=consumer_pb2.SHARD_ITERATOR_TYPE_TRIM_HORIZON
        ),
    )
    ends = []
    for _ in range(SUBSCRIPTION_DEADLINE_TRIES):
        ends.append(
            outcome(lambda: list(consumer.SubscribeToShard(request, timeout=SUBSCRIPTION_DEADLINE_S)))
        )
    return {"deadlineMs": round(SUBSCRIPTION_DEADLINE_S * 1000), "ends": ends}


def consumer_registration(channel):
    """Registers an enhanced fan-out consumer of the seed stream and describes it by its ARN."""
    streams = stream_pb2_grpc.StreamServiceStub(channel)
    consumers = consumer_pb2_grpc.ConsumerServiceStub(channel)
    stream_arn = streams.DescribeStreamSummary(
        stream_pb2.DescribeStreamSummaryRequest(stream_name=SEED_STREAM),
        timeout=ERROR_DEADLINE_S,
    ).stream_description_summary.stream_arn
    registered = consumers.RegisterStreamConsumer(
        consumer_pb2.RegisterStreamConsumerRequest(
            stream_arn=stream_arn, consumer_name="python-reader"
        ),
        timeout=ERROR_DEADLINE_S,
    ).consumer
    described = consumers.DescribeStreamConsumer(
        consumer_pb2.DescribeStreamConsumerRequest(consumer_arn=registered.consumer_arn),
        timeout=ERROR_DEADLINE_S,
    ).consumer_description
    return {
        "streamArn": stream_arn,
        "registered": {
            "consumerArn": registered.consumer_arn,
            "createdSeconds": registered.consumer_creation_timestamp.seconds,
        },
        "described": {
            "consumerName": described.consumer_name,
            "consumerArn": described.consumer_arn,
            "consumerStatus": consumer_pb2.ConsumerStatus.Name(described.consumer_status),
            "streamArn": described.stream_arn,
        },
    }


def main():
    address, unthrottled_address = sys.argv[1], sys.argv[2]
    with grpc.insecure_channel(address) as channel, grpc.insecure_channel(
        unthrottled_address
    ) as unthrottled:
        producer = producer_pb2_grpc.ProducerServiceStub(channel)
        consumer = consumer_pb2_grpc.ConsumerServiceStub(channel)
        results = {
            "client": f"grpcio {grpc.__version__}, Python {sys.version.split()[0]}",
            "packages": scenario(lambda: packages(channel)),
            "seed": scenario(lambda: seed(producer)),
            "errors": scenario(lambda: errors(producer)),
            "throttling": scenario(lambda: throttling(producer)),
            "backlog": scenario(lambda: backlog(unthrottled)),
            "subscriptionDeadline": scenario(lambda: subscription_deadline(consumer)),
            "consumerRegistration": scenario(lambda: consumer_registration(channel)),
        }
    json.dump(results, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
