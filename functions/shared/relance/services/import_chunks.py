"""Imports too large for one invocation (issue 9): a dropped CSV split into parts, each imported by an SQS chunk.

1. The S3 drop's function reads the file once, cheaply (`InvoiceReader.split`: no row is checked), and cuts
   it every `lines_per_chunk` lines at a record's first line. It writes the import's ledger item (IM3) and
   sends one message per part: the object (version), its byte range, the format the first bytes decided
   and the part's repeats of invoice numbers used by earlier parts (the duplicate check of the whole file).
2. A chunk worker reads its range, imports it through the same `_import_rows` as a whole file, keeps the
   range's report next to the file's (S3) and counts the part done on the ledger, once: a conditional
   update on the part's entry, so a redelivered message cannot count it twice.
3. The worker whose count completes the ledger (or a redelivery that finds it complete) merges the parts'
   reports in line order, errors capped as for one file, writes `<key>.report.json` and mails finance.
   The handler runs that step under its own idempotency key: one report, one mail.

A part retried after a crash imports again what its first try stored: those invoices are found unchanged
(the registry makes the write idempotent) and counted so, as when a whole file is retried.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Container, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any, BinaryIO, Protocol

from relance.adapters.dynamo import DynamoStore
from relance.adapters.keys import import_report_key
from relance.domain.csv_invoices import CsvFormat, FilePart, InvoiceReader, RowError, SkippedLine
from relance.domain.errors import UnknownCreditor
from relance.domain.parties import Creditor
from relance.domain.policy import PolicyBook
from relance.services.imports import (
    CSV,
    DropBox,
    DropOutcome,
    DroppedFile,
    ImportReport,
    Provenance,
    ImportSummaryMail,
    ImportSummaryMailer,
    _collapse_errors,
    _import_rows,
    _json_bytes,
    sniff,
)

LINES_PER_CHUNK = 50_000  # about 2 minutes of a worker on DynamoDB's usual latencies (400,000 lines in 15)


@dataclass(frozen=True, slots=True)
class ChunkJob:
    """One SQS message: a part of a dropped file to import."""

    import_id: str  # <bucket>/<key>/<version or ETag>: the drop's own idempotency key
    bucket: str
    key: str
    version_id: str | None
    creditor_id: str
    index: int
    count: int
    part: FilePart

    @property
    def chunk_id(self) -> str:
        """The business key of this part, for the worker's idempotency: one import of each part."""
        return f"{self.import_id}#{self.index:05d}"

    def to_json(self) -> dict[str, Any]:
        return {"chunk_id": self.chunk_id, "import_id": self.import_id, "bucket": self.bucket, "key": self.key,
                "version_id": self.version_id, "creditor_id": self.creditor_id, "index": self.index,
                "count": self.count, "first_line": self.part.first_line, "start": self.part.start,
                "end": self.part.end, "format": self.part.format.to_json(),
                "repeats": [[line, first] for line, first in sorted(self.part.repeats.items())]}

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> ChunkJob:
        part = FilePart(int(body["first_line"]), int(body["start"]),
                        None if body["end"] is None else int(body["end"]), CsvFormat.from_json(body["format"]),
                        {int(line): int(first) for line, first in body["repeats"]})
        return cls(body["import_id"], body["bucket"], body["key"], body.get("version_id"), body["creditor_id"],
                   int(body["index"]), int(body["count"]), part)


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a split import stands: how many parts are counted (the ledger's counter) and which, out of how many."""

    count: int
    counted: int = 0
    done: frozenset[int] = frozenset()
    reported: bool = False

    @property
    def is_complete(self) -> bool:
        return self.counted >= self.count


class ChunkLedger(Protocol):
    """The import's ledger item (IM3): its parts, and those already counted."""

    def start(self, job: ChunkJob, lines: int, now: datetime) -> None:
        """Write the ledger of a split import; a second start (the drop retried) changes nothing."""
        ...

    def count_part(self, job: ChunkJob, summary: dict[str, int]) -> Progress | None:
        """Count part `job.index` done, once; None if it was already counted (a redelivered message)."""
        ...

    def progress(self, creditor_id: str, import_id: str) -> Progress:
        ...

    def mark_reported(self, job: ChunkJob, report_key: str, now: datetime) -> None:
        ...


class ChunkFiles(Protocol):
    """The dropped file's bytes by range, and the parts' reports kept until the last part merges them."""

    def open_range(self, job: ChunkJob) -> BinaryIO:
        ...

    def put_part_report(self, job: ChunkJob, body: bytes) -> None:
        ...

    def part_report(self, job: ChunkJob, index: int) -> bytes:
        ...


class ChunkQueue(Protocol):
    def send(self, jobs: Sequence[dict[str, Any]]) -> None:
        ...


@dataclass
class ChunkSplitter:
    """The S3 drop's first pass (services.imports.Splitter): a CSV of more than one part is split and queued."""

    bucket: str
    version: str  # the version id, else the ETag: what names this upload
    ledger: ChunkLedger
    queue: ChunkQueue
    now: datetime
    lines_per_chunk: int = LINES_PER_CHUNK

    def split(self, drop: DroppedFile, stream: BinaryIO) -> DropOutcome | None:
        stream, kind = sniff(stream)
        if kind != CSV:
            return None  # a ZIP, PDF or XML is read whole: a range of it means nothing
        reader = InvoiceReader(stream)
        parts = reader.split(self.lines_per_chunk)  # InvalidImportFile: the caller's refusal
        if len(parts) <= 1:
            return None
        import_id = f"{self.bucket}/{drop.key}/{self.version}"
        jobs = [ChunkJob(import_id, self.bucket, drop.key, drop.version_id, drop.creditor_id, index, len(parts),
                         part) for index, part in enumerate(parts)]
        self.ledger.start(jobs[0], reader.line_count, self.now)  # before any message: a worker always finds its ledger
        self.queue.send([job.to_json() for job in jobs])
        return DropOutcome("split", import_report_key(drop.key), 0, 0, False, chunks=len(parts))


@dataclass(frozen=True, slots=True)
class ChunkOutcome:
    """What one delivery of a part did: `counted` False for a part already counted; `needs_report` once every
    part is counted and the file's report is not written yet (the last part, or a redelivery after it)."""

    counted: bool
    needs_report: bool
    rows: int = 0
    errors: int = 0


def import_chunk(
    job: ChunkJob,
    store: DynamoStore,
    closed_for: Callable[[Creditor], Container[date]],
    policies_for: Callable[[Creditor], PolicyBook],
    files: ChunkFiles,
    ledger: ChunkLedger,
    now: datetime | None = None,
) -> ChunkOutcome:
    """Import one part of a split file (its rows numbered as in the whole file) and count it done, once.

    With `now`, each stored chunk of invoices leaves an `invoices_imported` audit event, as a whole file's do.
    """
    progress = ledger.progress(job.creditor_id, job.import_id)
    if job.index in progress.done:
        return ChunkOutcome(False, progress.is_complete and not progress.reported)
    creditor = store.get_creditor(job.creditor_id)
    if creditor is None:  # deleted since the drop was split
        raise UnknownCreditor(f"no creditor {job.creditor_id!r}", creditor_id=job.creditor_id)
    report = ImportReport(provenance=Provenance("s3-drop", job.key, now) if now is not None else None)
    with closing(files.open_range(job)) as stream:
        _import_rows(InvoiceReader.resume(stream, job.part), job.creditor_id, store, closed_for(creditor),
                     policies_for(creditor), report, {}, None)
    _collapse_errors(report)
    files.put_part_report(job, _json_bytes(_part_json(report)))  # before counting: the merge finds it
    counted = ledger.count_part(job, {"rows": report.rows, "imported": report.imported,
                                      "updated": report.updated, "unchanged": report.unchanged,
                                      "errors": report.error_count()})
    if counted is None:  # another delivery of this part counted it while this one ran
        progress = ledger.progress(job.creditor_id, job.import_id)
        return ChunkOutcome(False, progress.is_complete and not progress.reported)
    return ChunkOutcome(True, counted.is_complete and not counted.reported, report.rows, report.error_count())


def finish_chunked_import(
    job: ChunkJob,
    store: DynamoStore,
    files: ChunkFiles,
    ledger: ChunkLedger,
    drop_box: DropBox,
    mailer: ImportSummaryMailer,
    now: datetime,
) -> DropOutcome:
    """Merge every part's report into the file's, in line order, write it next to the file and mail finance.

    Call once every part is counted, and once (the handler's idempotency): it writes and mails each time.
    """
    report = ImportReport()
    for index in range(job.count):
        merge_part(report, json.loads(files.part_report(job, index)))
    _collapse_errors(report)  # the first 1,000 errors of the file are among the first 1,000 of each part
    body = {**report.to_json(), "chunks": job.count}
    report_key = import_report_key(job.key)
    drop_box.put_report(report_key, _json_bytes(body))
    creditor = store.get_creditor(job.creditor_id)
    recipients = tuple(creditor.finance_emails) if creditor is not None else ()
    if creditor is not None and recipients:
        mailer.send_import_summary(ImportSummaryMail(creditor, job.key.rsplit("/", 1)[-1], report_key, body,
                                                     recipients, creditor.language))
    ledger.mark_reported(job, report_key, now)
    return DropOutcome("imported", report_key, report.rows, report.error_count(), bool(recipients),
                       chunks=job.count)


def _part_json(report: ImportReport) -> dict[str, Any]:
    """A part's report with what the merge needs: counts, the kept errors and skipped lines, and the customers
    by id (the file's report counts distinct customers, and parts share some)."""
    return {"rows": report.rows, "imported": report.imported, "updated": report.updated,
            "unchanged": report.unchanged, "errors": [asdict(e) for e in report.errors],
            "skipped": [asdict(s) for s in report.skipped], "errors_not_shown": report.errors_not_shown,
            "skipped_not_shown": report.skipped_not_shown, "debtor_ids": sorted(report.debtor_ids),
            "open_minor": report.open_minor}


def merge_part(report: ImportReport, part: dict[str, Any]) -> None:
    """Add one part's report to the file's."""
    report.rows += part["rows"]
    report.imported += part["imported"]
    report.updated += part["updated"]
    report.unchanged += part["unchanged"]
    for error in part["errors"]:
        report.add_error(RowError(**error))
    for skipped in part["skipped"]:
        report.add_skipped(SkippedLine(**skipped))
    report.errors_not_shown += part["errors_not_shown"]
    report.skipped_not_shown += part["skipped_not_shown"]
    report.debtor_ids.update(part["debtor_ids"])
    for currency, minor in part["open_minor"].items():
        report.open_minor[currency] = report.open_minor.get(currency, 0) + minor

