"""Runs the template's Lambda handlers in this process, fed the events AWS would send them.

There is no container runtime here (`sam local` needs one), so the local stack invokes each
handler from its CodeUri and Handler in template.yaml, and drains SQS the way an event source
mapping does: batches of messages in, `batchItemFailures` left on the queue, the rest deleted.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
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
            log_handler.setStream(sink)
    with contextlib.redirect_stdout(sink):
        return handler(event, LocalContext(function_name=logical_id))


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
    """One day on the local stack: the scheduled scan, then its queue drained by the worker."""
    scan = invoke("DailyScanFunction", {"business_date": business_date} if business_date else {})
    return scan, drain(queue_url, "SendRemindersFunction")


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
