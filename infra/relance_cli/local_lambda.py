"""Runs the template's Lambda handlers in this process, fed the events AWS would send them.

There is no container runtime here (`sam local` needs one), so the local stack invokes each
handler from its CodeUri and Handler in template.yaml, and drains SQS the way an event source
mapping does: batches of messages in, `batchItemFailures` left on the queue, the rest deleted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib.util
import io
import json
import logging
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from relance.adapters.aws import client
from relance_cli.local_stack import ACCOUNT_ID, REPO_ROOT, load_template

_MODULES: dict[str, ModuleType] = {}
_HANDLERS: dict[str, Callable[[dict[str, Any], Any], Any]] = {}
_CONTEXTS: dict[str, LocalContext] = {}


@dataclass
class LocalContext:
    """The parts of a Lambda context that Powertools reads."""

    function_name: str
    memory_limit_in_mb: int = 256
    timeout_ms: int = 30_000
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:eu-west-3:{ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_ms


def handler_of(logical_id: str) -> Callable[[dict[str, Any], Any], Any]:
    """The handler function that template.yaml names for `logical_id`, loaded once (as a cold start)."""
    if logical_id not in _HANDLERS:
        properties = load_template()["Resources"][logical_id]["Properties"]
        module_name, _, function = properties["Handler"].rpartition(".")
        path = Path(REPO_ROOT, properties["CodeUri"], *module_name.split(".")).with_suffix(".py")
        spec = importlib.util.spec_from_file_location(f"local_lambda_{module_name}", path)
        assert spec and spec.loader, f"cannot load {path}"
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _MODULES[logical_id] = module
        _HANDLERS[logical_id] = getattr(module, function)
    return _HANDLERS[logical_id]


def forget_handlers() -> None:
    """Drop loaded handler modules (their settings were read from the environment at import)."""
    _MODULES.clear()
    _HANDLERS.clear()


VERBOSE = False  # set by `relance run-day --verbose`: handler logs and metrics go to stderr


def invoke(logical_id: str, event: dict[str, Any]) -> Any:
    """Call the function as Lambda would, with a fresh context.

    Lambda sends a function's stdout (Powertools' JSON logs, EMF metrics) to CloudWatch; here it
    goes to stderr with --verbose, else nowhere, so the command's own output stays readable.
    """
    handler = handler_of(logical_id)
    sink = sys.stderr if VERBOSE else io.StringIO()
    module_logger = getattr(_MODULES[logical_id], "logger", None)
    handlers = logging.getLogger(module_logger.name).handlers if module_logger is not None else []
    for log_handler in handlers:
        if isinstance(log_handler, logging.StreamHandler):
            with _locked(log_handler):  # not setStream(): it flushes the old stream, which may be closed by now
                log_handler.stream = sink
    with contextlib.redirect_stdout(sink):
        return handler(event, _context(logical_id))


def _context(logical_id: str) -> LocalContext:
    """A context with the memory and timeout template.yaml gives the function (its own, else Globals'):
    a handler that watches its remaining time sees what it would see on Lambda at the start."""
    if logical_id not in _CONTEXTS:
        _CONTEXTS[logical_id] = _sized_context(logical_id)
    return dataclasses.replace(_CONTEXTS[logical_id], aws_request_id=str(uuid.uuid4()))


def _sized_context(logical_id: str) -> LocalContext:
    template = load_template()
    defaults = template.get("Globals", {}).get("Function", {})
    properties = template["Resources"][logical_id]["Properties"]
    memory = properties.get("MemorySize", defaults.get("MemorySize", 128))
    timeout = properties.get("Timeout", defaults.get("Timeout", 3))
    return LocalContext(function_name=logical_id, memory_limit_in_mb=int(memory) if isinstance(memory, int) else 256,
                        timeout_ms=1000 * int(timeout) if isinstance(timeout, int) else 30_000)


@contextlib.contextmanager
def _locked(log_handler: logging.Handler):
    log_handler.acquire()
    try:
        yield
    finally:
        log_handler.release()


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping builds from received messages."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": hashlib.md5(m["Body"].encode()).hexdigest(),  # noqa: S324 - SQS's own checksum
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


def run_local_day(queue_url: str, business_date: str | None) -> tuple[dict[str, Any], DrainReport]:
    """One day on the local stack, in the schedules' order: installment plans' work (08:30), then the
    scan (09:00) and its queue drained by the worker, the stream's debtor changes (risk, alerts), the
    alerts digest (09:30), and the audit chain last (it chains the risk band changes too)."""
    day = {"business_date": business_date} if business_date else {}
    invoke("InstallmentsFunction", day)
    scan = invoke("DailyScanFunction", day)
    drained = drain(queue_url, "SendRemindersFunction")
    drain_debtor_watch()
    invoke("AlertsDigestFunction", day)
    drain_audit_chain()
    return scan, drained


@dataclass
class DrainReport:
    batches: int = 0
    messages: int = 0
    failures: int = 0


def drain(queue_url: str, logical_id: str, batch_size: int = 10, max_batches: int = 100_000) -> DrainReport:
    """Feed every message on the queue to the function, like an SQS trigger with partial batch responses."""
    sqs = client("sqs")
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    region = arn.split(":")[3]
    report = DrainReport()
    while report.batches < max_batches:
        received = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=batch_size, WaitTimeSeconds=0, AttributeNames=["All"]
        ).get("Messages", [])
        if not received:
            break
        report.batches += 1
        report.messages += len(received)
        result = invoke(logical_id, sqs_event(received, arn, region)) or {}
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        report.failures += len(failed)
        done = [m for m in received if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start:start + 10])],
            )
    return report


# --- DynamoDB stream -> AuditChainFunction ------------------------------------------------------

_STREAM_POSITIONS: dict[str, str] = {}  # stream ARN -> last sequence number handed to a function


def _streams_client() -> Any:
    # botocore's account-based endpoint (<account>.streams-ddb…) is not one moto answers; the classic one is.
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))


def table_stream_arn(table_name: str) -> str | None:
    return client("dynamodb").describe_table(TableName=table_name)["Table"].get("LatestStreamArn")


def stream_filters(logical_id: str) -> list[dict[str, Any]]:
    """The FilterCriteria patterns of the function's DynamoDB event source in template.yaml ([] keeps all)."""
    events = load_template()["Resources"][logical_id]["Properties"].get("Events", {})
    return [json.loads(f["Pattern"]) for event in events.values() if event["Type"] == "DynamoDB"
            for f in event["Properties"].get("FilterCriteria", {}).get("Filters", [])]


def matches(pattern: dict[str, Any], record: dict[str, Any]) -> bool:
    """Lambda's event filtering for the subset the template uses: nested keys, each leaf a list of exact values."""
    for name, expected in pattern.items():
        if name not in record:
            return False
        if isinstance(expected, dict):
            if not isinstance(record[name], dict) or not matches(expected, record[name]):
                return False
        elif isinstance(expected, list):
            if any(isinstance(value, dict) for value in expected):
                raise NotImplementedError(f"filter operators are not emulated locally: {expected}")
            if record[name] not in expected:
                return False
        else:
            raise NotImplementedError(f"a filter leaf must be a list of values, got {expected!r}")
    return True


def stream_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """One record as the DynamoDB event source mapping hands it to Lambda (JSON-ready)."""
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if hasattr(created, "timestamp"):
        dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
    return {"eventID": record["eventID"], "eventName": record["eventName"], "eventVersion": "1.1",
            "eventSource": "aws:dynamodb", "awsRegion": region, "dynamodb": dynamodb, "eventSourceARN": stream_arn}


def drain_stream(stream_arn: str, logical_id: str, batch_size: int = 100, checkpoint: str | None = None) -> DrainReport:
    """Hand the stream's new records to the function, filtered as its template declares, batch by batch.

    Like the event source mapping: a record the function reports failed is where the next drain
    starts again (records after it in the batch are handed over again too, so the function must be
    idempotent); records the filters drop are never seen by the function. Each event source mapping
    keeps its own place in the stream: `checkpoint` names it (the stream ARN by default).
    """
    checkpoint = checkpoint or stream_arn
    streams = _streams_client()
    region = stream_arn.split(":")[3]
    filters = stream_filters(logical_id)
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    position = _STREAM_POSITIONS.get(checkpoint)
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard,
        **({"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": position} if position
           else {"ShardIteratorType": "TRIM_HORIZON"}))["ShardIterator"]
    report = DrainReport()
    while True:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        if not page["Records"]:
            return report
        iterator = page["NextShardIterator"]
        kept = [stream_record(r, stream_arn, region) for r in page["Records"]]
        kept = [r for r in kept if not filters or any(matches(f, r) for f in filters)]
        for start in range(0, len(kept), batch_size):
            batch = kept[start:start + batch_size]
            report.batches += 1
            report.messages += len(batch)
            result = invoke(logical_id, {"Records": batch}) or {}
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            if failed:
                report.failures += len(failed)
                first = next(i for i, r in enumerate(batch) if r["dynamodb"]["SequenceNumber"] in failed)
                if first:
                    _STREAM_POSITIONS[checkpoint] = batch[first - 1]["dynamodb"]["SequenceNumber"]
                return report
            _STREAM_POSITIONS[checkpoint] = batch[-1]["dynamodb"]["SequenceNumber"]
        _STREAM_POSITIONS[checkpoint] = page["Records"][-1]["dynamodb"]["SequenceNumber"]


def drain_audit_chain() -> DrainReport:
    """Chain every audit event written so far (what AuditChainFunction does on AWS within seconds)."""
    from relance.adapters.settings import load_settings

    arn = table_stream_arn(load_settings().table_name)
    return drain_stream(arn, "AuditChainFunction") if arn else DrainReport()


def drain_debtor_watch() -> DrainReport:
    """Rescore the debtors whose items changed and raise their alerts (DebtorWatchFunction, seconds after on AWS).

    Drained until quiet: the function's own risk writes come back once as records and write nothing.
    """
    from relance.adapters.settings import load_settings

    arn = table_stream_arn(load_settings().table_name)
    total = DrainReport()
    while arn:
        report = drain_stream(arn, "DebtorWatchFunction", checkpoint=f"{arn}#DebtorWatchFunction")
        total.batches += report.batches
        total.messages += report.messages
        total.failures += report.failures
        if not report.messages or report.failures:
            break
    return total
