"""A dropped CSV too large for one run, split across SQS chunks (issue #9), on the moto stack."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from relance.adapters.aws import client
from relance.adapters.import_chunks_store import DynamoImportLedger, S3ImportParts
from relance.adapters.payments_store import PaymentsStore
from relance.adapters.wiring import policies_for
from relance.domain.parties import Creditor
from relance.services import imports
from relance.services.import_chunks import ChunkJob, Progress, import_chunk
from relance_cli import local_lambda
from relance_cli.local_stack import write_stack_file
from relance_cli.outbox import read_outbox
from tests.integration.conftest import LocalStackCli
from tests.integration.test_einvoice_import import s3_event, versions_under

CREDITOR = "moulin"
BASELINE = "moulin-one-run"  # the same file imported in one run, for the expected report
FINANCE = "finance@moulin.example.fr"
LINES_PER_PART = 30
NOW = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)


def closed_for(_creditor):
    return frozenset()


def export(rows: int = 120) -> bytes:
    """A French Excel export (Windows-1252, `;`, dd/mm/yyyy): quoted names spanning two lines, bad rows, a
    totals line and invoice numbers used twice, one of them first in another part of the file."""
    lines = ["Export du grand livre clients;;;;;", "",
             "N° facture;Client;Date facture;Échéance;Montant TTC;Devise"]
    for i in range(1, rows + 1):
        name = f'"Société {i % 23}\nservice comptable"' if i % 7 == 0 else f"Société {i % 23}"
        number = f"FA-{i:05d}"
        if i in (45, 95):
            number = "FA-00003"  # used on an earlier part's line: a duplicate the whole file must report
        if i == 50:
            number = "FA-00049"  # used on the line just before
        due = "31/02/2025" if i % 31 == 0 else "15/01/2026"  # no 31 February: a row error
        lines.append(f"{number};{name};01/12/2025;{due};1 234,{i % 100:02d};EUR")
    lines.append("TOTAL;;;;99 999,00;")
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


@pytest.fixture
def world(stack, monkeypatch):
    monkeypatch.setenv("RELANCE_IMPORT_CHUNK_LINES", str(LINES_PER_PART))
    store = PaymentsStore(stack.physical["RelanceTable"])
    for creditor_id in (CREDITOR, BASELINE):
        store.put_creditor(Creditor(creditor_id, "Au bon moulin", siren="999999998", finance_emails=(FINANCE,)))
    return {"store": store, "bucket": stack.physical["ImportsBucket"], "queue": stack.physical["ImportChunkQueue"],
            "table": stack.physical["RelanceTable"]}


def one_run_report(world, body: bytes) -> dict:
    return imports.import_file(io.BytesIO(body), BASELINE, world["store"], closed_for, policies_for).to_json()


def drop(world, body: bytes, name: str = "grand-livre.csv") -> tuple[str, dict]:
    key = f"imports/{CREDITOR}/{name}"
    put = client("s3").put_object(Bucket=world["bucket"], Key=key, Body=body)
    return key, s3_event(world["bucket"], key, put, len(body))


def queued_parts(world) -> list[dict]:
    """Every message on the chunk queue, received (in flight) but left for the test to deliver."""
    sqs, messages = client("sqs"), []
    while batch := sqs.receive_message(QueueUrl=world["queue"], MaxNumberOfMessages=10).get("Messages", []):
        messages += batch
    return messages


def deliver(world, message: dict) -> dict:
    arn = client("sqs").get_queue_attributes(QueueUrl=world["queue"], AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"]
    return local_lambda.invoke("ImportChunkFunction", local_lambda.sqs_event([message], arn, "eu-west-3"))


def report_of(world, key: str) -> dict:
    return json.loads(client("s3").get_object(Bucket=world["bucket"], Key=key + ".report.json")["Body"].read())


def stored_numbers(world, creditor_id: str, rows: int = 120) -> dict[str, str]:
    return world["store"].invoice_owners(creditor_id, [f"FA-{i:05d}" for i in range(1, rows + 1)])


def summary_mails() -> list:
    return [m for m in read_outbox(None, "eu-west-3") if FINANCE in m.recipients]


def test_a_file_of_more_lines_than_a_part_is_split_and_imported_like_one_run(world, stack, tmp_path):
    body = export()
    expected = one_run_report(world, body)
    key, event = drop(world, body)
    cli = LocalStackCli(write_stack_file(stack, tmp_path / "stack.json"))

    dropped = local_lambda.invoke("ImportInvoicesFunction", event)
    [waiting] = cli.json("imports", "--creditor", CREDITOR)
    drained = local_lambda.drain(world["queue"], "ImportChunkFunction", batch_size=1)
    [done] = cli.json("imports", "--creditor", CREDITOR)

    assert dropped["results"][key]["status"] == "split"
    assert dropped["results"][key]["chunks"] == drained.messages >= 4
    assert drained.failures == 0
    report = report_of(world, key)
    assert report.pop("chunks") == drained.messages
    assert report == expected  # every count, error (by line), skipped line, customer and open amount
    assert {e["code"] for e in report["errors"]} >= {"duplicate_invoice_number", "unparseable_date"}
    assert [e["line"] for e in report["errors"] if e["code"] == "duplicate_invoice_number"] == [
        e["line"] for e in expected["errors"] if e["code"] == "duplicate_invoice_number"]
    assert stored_numbers(world, CREDITOR).keys() == stored_numbers(world, BASELINE).keys()
    assert len(versions_under(world["bucket"], key + ".report.json")) == 1
    assert len(summary_mails()) == 1
    assert (waiting["chunks_done"], waiting["chunks"], waiting["status"]) == (0, drained.messages, "importing")
    assert (done["chunks_done"], done["rows_done"], done["status"]) == (drained.messages, 120, "reported")
    assert (waiting["lines"], done["report_key"]) == (141, key + ".report.json")  # the totals line is 141


def test_every_part_delivered_twice_and_out_of_order_writes_one_report_and_one_mail(world):
    body = export()
    expected = one_run_report(world, body)
    key, event = drop(world, body)
    local_lambda.invoke("ImportInvoicesFunction", event)
    local_lambda.invoke("ImportInvoicesFunction", event)  # S3 delivers the notification twice
    parts = queued_parts(world)

    for message in [*reversed(parts), *parts]:
        result = deliver(world, message)
        assert result == {"batchItemFailures": []}

    assert len(parts) >= 4
    report = report_of(world, key)
    report.pop("chunks")
    assert report == expected
    assert len(versions_under(world["bucket"], key + ".report.json")) == 1
    assert len(summary_mails()) == 1


def test_a_part_that_fails_midway_is_retried_and_the_import_completes(world, monkeypatch):
    body = export()
    expected = one_run_report(world, body)
    key, event = drop(world, body)
    local_lambda.invoke("ImportInvoicesFunction", event)
    parts = queued_parts(world)
    monkeypatch.setattr(imports, "CHUNK_ROWS", 10)  # several writes per part, so one can fail in the middle
    local_lambda.handler_of("ImportChunkFunction")  # loaded as on a cold start, so its store can be patched
    worker = local_lambda._MODULES["ImportChunkFunction"]
    real_put, writes = worker.store.put_new_invoices, []

    def put_failing_once(invoices, debtors):
        writes.append(len(invoices))
        if len(writes) == 2:
            raise ConnectionError("DynamoDB went away in the middle of the part")
        real_put(invoices, debtors)

    monkeypatch.setattr(worker.store, "put_new_invoices", put_failing_once)

    with pytest.raises(BatchProcessingError):  # the batch's only message failed: the invocation fails
        deliver(world, parts[1])
    again = deliver(world, parts[1])  # SQS hands it over again after the visibility timeout
    for message in parts[:1] + parts[2:]:
        deliver(world, message)

    assert again == {"batchItemFailures": []}
    report = report_of(world, key)
    assert (report["rows"], report["errors"], report["debtors"], report["open"]) == (
        expected["rows"], expected["errors"], expected["debtors"], expected["open"])
    assert report["imported"] + report["unchanged"] == expected["imported"]  # the first try's 10 are found again
    assert report["unchanged"] == 10
    assert stored_numbers(world, CREDITOR).keys() == stored_numbers(world, BASELINE).keys()
    assert len(summary_mails()) == 1


def test_a_part_counted_by_a_rival_delivery_is_not_counted_twice(world):
    key, event = drop(world, export())
    local_lambda.invoke("ImportInvoicesFunction", event)
    jobs = [ChunkJob.from_json(json.loads(m["Body"])) for m in queued_parts(world)]
    ledger = DynamoImportLedger(world["table"])

    class StaleLedger:
        """Two workers on the same part at once: each read the ledger before the other counted."""

        def __getattr__(self, name):
            return getattr(ledger, name)

        def progress(self, creditor_id, import_id):
            return Progress(len(jobs))

    first = import_chunk(jobs[0], world["store"], closed_for, policies_for, S3ImportParts(), ledger)
    rival = import_chunk(jobs[0], world["store"], closed_for, policies_for, S3ImportParts(), StaleLedger())

    assert (first.counted, rival.counted) == (True, False)
    progress = ledger.progress(CREDITOR, jobs[0].import_id)
    assert (progress.counted, progress.done, progress.is_complete) == (1, frozenset({0}), False)
    for job in jobs[1:-1]:
        assert not import_chunk(job, world["store"], closed_for, policies_for, S3ImportParts(), ledger).needs_report
    last = import_chunk(jobs[-1], world["store"], closed_for, policies_for, S3ImportParts(), ledger)
    assert last.needs_report


def test_a_file_within_one_part_is_imported_in_the_drop_run_as_before(world):
    body = export(rows=20)
    key, event = drop(world, body, "petit.csv")

    result = local_lambda.invoke("ImportInvoicesFunction", event)

    assert result["results"][key]["status"] == "imported"
    assert queued_parts(world) == []
    assert "chunks" not in report_of(world, key)
    assert len(summary_mails()) == 1


def test_parts_delivered_again_after_their_idempotency_records_expired_import_and_mail_nothing(world, stack):
    key, event = drop(world, export())
    local_lambda.invoke("ImportInvoicesFunction", event)
    parts = queued_parts(world)
    for message in parts:
        deliver(world, message)
    dynamodb, table = client("dynamodb"), stack.physical["IdempotencyTable"]
    for item in dynamodb.scan(TableName=table)["Items"]:  # 30 days later: Powertools forgot them
        dynamodb.delete_item(TableName=table, Key={"id": item["id"]})

    for message in parts:
        assert deliver(world, message) == {"batchItemFailures": []}

    assert len(versions_under(world["bucket"], key + ".report.json")) == 1
    assert len(summary_mails()) == 1
    assert DynamoImportLedger(world["table"]).progress(CREDITOR, json.loads(parts[0]["Body"])["import_id"]).counted \
        == len(parts)
