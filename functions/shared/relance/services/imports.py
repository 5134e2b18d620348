"""Import invoices: every good row or invoice file stored once, every bad one reported.

One door for every format: an accounting export (CSV), a Factur-X / ZUGFeRD PDF, a CII or UBL 2.1
invoice XML, or a ZIP of them. The content decides, not the file name. A CSV is reported per row;
every other file once, by its name, so one damaged PDF in a ZIP of fifty is named and the other
forty-nine are imported. Importing the same file again changes nothing.

A credit note (type 381 and the other credit types) is not chased: once every invoice of the file is
stored, it lowers what its buyer owes, on the invoices it refers to (BT-25, UBL BillingReference)
when they are open, else as the customer's credit, through the same write as a payment finance
records (services/payments.py), audited and applied once whatever the number of imports.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Container, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any, BinaryIO, Protocol

from relance.adapters.dynamo import DynamoStore, VersionConflict
from relance.adapters.keys import import_report_key
from relance.domain.csv_invoices import InvoiceRow, ParsedLine, RowError, SkippedLine, read_invoices
from relance.domain.einvoice import (
    MAX_DOCUMENT_BYTES,
    PROFILE_NAMES,
    CreditNote,
    EInvoice,
    Rejected,
    SellerIds,
    creditor_seller_ids,
    read_pdf_invoice,
    read_xml_invoice,
)
from relance.domain.errors import InvalidImportFile, UnknownCreditor, UnknownDebtor
from relance.domain.invoices import Invoice
from relance.domain.parties import Creditor, Debtor, debtor_id_for, language_for
from relance.domain.dunning import plan_next_action
from relance.domain.policy import DunningPolicy, PolicyBook
from relance.services.payments import CreditNoteEntry, Outcome, PaymentPorts, PaymentStore, record_credit_note

CHUNK_ROWS = 1_000  # one Query of the invoice number registry per chunk, BatchWriteItem batches kept full
# A report keeps the first problems and skipped lines, by line, and counts the rest: a million-row file
# full of mistakes must not hold a million errors in memory nor print them.
MAX_REPORTED_ERRORS = 1_000
MAX_REPORTED_SKIPPED = 1_000
MAX_KNOWN_DEBTORS = 20_000  # customers kept between chunks to save reads; forgotten beyond this

# ZIP bombs: a few hundred bytes can claim gigabytes. The declared sizes are checked before anything is
# imported, and every entry is read through a counter that stops at its limit whatever the header said.
MAX_ZIP_ENTRIES = 1_000
MAX_ZIP_ENTRY_BYTES = 256 * 1024 * 1024  # a CSV export of about two million rows
MAX_ZIP_TOTAL_BYTES = 1024 * 1024 * 1024
SNIFF_BYTES = 1024

CSV, PDF, XML, ZIP = "csv", "pdf", "xml", "zip"


class OriginalPdfs(Protocol):
    """Where the original PDF of an imported Factur-X invoice is kept, for the debtor portal's download."""

    def keep(self, creditor_id: str, debtor_id: str, number: str, pdf: bytes) -> str:
        """Store `pdf` as the invoice's original (once: the same bytes again change nothing); its key."""
        ...


@dataclass(frozen=True, slots=True)
class Provenance:
    """Who imports, from where, and when: each stored chunk of invoices leaves one audit event saying so."""

    actor: str  # "cli:<user>", "s3-drop"
    source: str  # the file's name (the S3 key for a drop)
    at: datetime


@dataclass
class ImportReport:
    """The outcome of one file, in the shape `relance import --json` prints."""

    rows: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    skipped: list[SkippedLine] = field(default_factory=list)
    debtor_ids: set[str] = field(default_factory=set)
    open_minor: dict[str, int] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)  # one entry per file read
    lists_files: bool = False  # False for one plain CSV, whose report keeps its original shape
    errors_not_shown: int = 0  # problems beyond the first MAX_REPORTED_ERRORS, counted only
    skipped_not_shown: int = 0
    credit_notes: int = 0  # credit notes applied (or, in a dry run, that would be)
    credited_minor: dict[str, int] = field(default_factory=dict)  # what they took off, per currency
    provenance: Provenance | None = None  # not part of the report: the audit events' actor and source

    def add_error(self, error: RowError) -> None:
        """Note a problem; past MAX_REPORTED_ERRORS only the earliest lines are kept, the others counted."""
        self.errors.append(error)
        if len(self.errors) > 2 * MAX_REPORTED_ERRORS:
            self.errors_not_shown += _keep_first(self.errors, MAX_REPORTED_ERRORS)

    def add_skipped(self, skipped: SkippedLine) -> None:
        self.skipped.append(skipped)
        if len(self.skipped) > 2 * MAX_REPORTED_SKIPPED:
            self.skipped_not_shown += _keep_first(self.skipped, MAX_REPORTED_SKIPPED)

    def error_count(self) -> int:
        return len(self.errors) + self.errors_not_shown

    def count_open(self, row: InvoiceRow) -> None:
        balance = row.total - row.paid
        self.open_minor[balance.currency] = self.open_minor.get(balance.currency, 0) + balance.minor

    def to_json(self) -> dict[str, Any]:
        """The report; a plain CSV import gives exactly the keys it always had, other doors add `file` and `files`."""
        result: dict[str, Any] = {
            "rows": self.rows,
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [_error_json(e) for e in self.errors],
            "skipped": [_skipped_json(s) for s in self.skipped],
            "debtors": len(self.debtor_ids),
            "open": dict(sorted(self.open_minor.items())),
        }
        if self.errors_not_shown:  # only a file with more than MAX_REPORTED_ERRORS problems has these
            result["errors_not_shown"] = self.errors_not_shown
        if self.skipped_not_shown:
            result["skipped_not_shown"] = self.skipped_not_shown
        if self.lists_files:
            if self.credit_notes:
                result["credit_notes"] = self.credit_notes
                result["credited"] = dict(sorted(self.credited_minor.items()))
            sellers = {json.dumps(f["seller"], sort_keys=True) for f in self.files if f.get("seller")}
            if len(sellers) == 1:  # every e-invoice names the same seller: the creditor the file belongs to
                result["creditor"] = json.loads(sellers.pop())
            result["files"] = self.files
        return result


def _keep_first(entries: list[Any], limit: int) -> int:
    """Sort `entries` by file and line, keep the first `limit`; how many were dropped."""
    entries.sort(key=lambda e: (e.file or "", e.line, getattr(e, "field", "")))
    dropped = max(len(entries) - limit, 0)
    del entries[limit:]
    return dropped


def _error_json(error: RowError) -> dict[str, Any]:
    entry: dict[str, Any] = {"line": error.line, "field": error.field, "code": error.code, "message": error.message}
    if error.file is not None:
        entry = {"file": error.file, **entry, "invoice_number": error.invoice_number}
    return entry


def _skipped_json(skipped: SkippedLine) -> dict[str, Any]:
    entry: dict[str, Any] = {"line": skipped.line, "reason": skipped.reason}
    if skipped.file is not None:
        entry = {"file": skipped.file, **entry, "detail": skipped.detail}
    return entry


def _invoice_of(row: InvoiceRow, creditor_id: str, debtor_id: str) -> Invoice:
    return Invoice(creditor_id, debtor_id, row.invoice_number, row.issued_on, row.due_on, row.total, row.paid)


def _debtor_of(row: InvoiceRow, creditor_id: str, debtor_id: str, address: str | None = None) -> Debtor:
    emails = (row.email,) if row.email else ()
    language = row.language or language_for(row.company_id, row.email)
    return Debtor(creditor_id, debtor_id, row.debtor_name, company_id=row.company_id, emails=emails,
                  phone=row.phone, language=language, address=address)


def check_file(stream: BinaryIO, progress: Callable[[int], None] | None = None, *, name: str | None = None,
               seller: SellerIds | None = None) -> ImportReport:
    """Parse and validate only (`--dry-run`): what an import would do, without any AWS call.

    An e-invoice's seller is checked only when `seller` is given (the dry run may not know the creditor).
    """
    stream, kind = sniff(stream)
    if kind == CSV:
        return _check_csv(stream, progress)
    report = ImportReport(lists_files=True)
    for file_name, file_kind, opened in _files_of(stream, kind, name, report):
        if file_kind == CSV:
            try:
                part = _check_csv(opened, None)
            except InvalidImportFile as exc:  # this file of the ZIP, not the others
                part = ImportReport(rows=1, errors=[RowError(0, "*", "invalid_file", str(exc), None)])
            _merge_csv(report, part, file_name)
        else:
            _read_document(report, file_name, file_kind, opened, seller, lambda e, _pdf: _counted_dry(report, e),
                           lambda note, _file, entry: _credited_dry(report, note, entry))
        if progress:
            progress(report.rows)
    _collapse_errors(report)
    return report


def _counted_dry(report: ImportReport, einvoice: EInvoice) -> str:
    report.imported += 1
    report.debtor_ids.add(debtor_id_for(einvoice.row.company_id, einvoice.row.debtor_name))
    report.count_open(einvoice.row)
    return "imported"


def _credited_dry(report: ImportReport, note: CreditNote, entry: dict[str, Any]) -> None:
    assert note.amount is not None
    _count_credit(report, note.amount.minor, note.amount.currency)
    entry["outcome"] = "credited"


def _count_credit(report: ImportReport, minor: int, currency: str) -> None:
    report.credit_notes += 1
    report.credited_minor[currency] = report.credited_minor.get(currency, 0) + minor


def _check_csv(stream: BinaryIO, progress: Callable[[int], None] | None) -> ImportReport:
    report = ImportReport()
    line_in_error = 0  # a row's problems come one after the other: the row counts once
    for parsed in read_invoices(stream):
        if isinstance(parsed, SkippedLine):
            report.add_skipped(parsed)
            continue
        if isinstance(parsed, RowError):
            report.rows += parsed.line != line_in_error
            line_in_error = parsed.line
            report.add_error(parsed)
            if progress and report.rows % CHUNK_ROWS == 0:
                progress(report.rows)
            continue
        report.rows += 1
        report.imported += 1
        report.debtor_ids.add(debtor_id_for(parsed.company_id, parsed.debtor_name))
        report.count_open(parsed)
        if progress and report.rows % CHUNK_ROWS == 0:  # a terminal write per row would cost more than the row
            progress(report.rows)
    if progress:
        progress(report.rows)
    _collapse_errors(report)
    return report


def import_file(
    stream: BinaryIO,
    creditor_id: str,
    store: DynamoStore,
    closed_for: Callable[[Creditor], Container[date]],
    policies_for: Callable[[Creditor], PolicyBook],
    progress: Callable[[int], None] | None = None,
    *,
    name: str | None = None,
    originals: OriginalPdfs | None = None,
    payments: PaymentStore | None = None,
    now: datetime | None = None,
    actor: str | None = None,
) -> ImportReport:
    """Upsert every valid invoice by creditor + invoice number; a later file updates amounts paid.

    `stream` is a CSV export, a Factur-X PDF, a CII or UBL XML, or a ZIP of them (`name` labels a
    single document in the report). An e-invoice of another seller is refused; the original of an
    imported Factur-X PDF is kept through `originals`. Credit notes are applied through `payments`
    (at `now`, the instant of the import) after every invoice of the file is stored. With `actor` and
    `now`, every chunk that creates or changes invoices leaves an `invoices_imported` audit event.
    """
    provenance = Provenance(actor, name or "", now) if actor is not None and now is not None else None
    creditor = store.get_creditor(creditor_id)
    if creditor is None:
        raise UnknownCreditor(f"no creditor {creditor_id!r}; create it first with `relance creditor add`",
                              creditor_id=creditor_id)
    closed = closed_for(creditor)
    policies = policies_for(creditor)
    stream, kind = sniff(stream)
    if kind == CSV:
        report = ImportReport(provenance=provenance)
        _import_csv(stream, creditor_id, store, closed, policies, report, {}, progress)
        _collapse_errors(report)
        return report
    report = ImportReport(lists_files=True, provenance=provenance)
    known_debtors: dict[str, Debtor] = {}
    seller = creditor_seller_ids(creditor.siren, creditor.vat_id)
    credit_notes: list[tuple[CreditNote, str, dict[str, Any]]] = []
    for file_name, file_kind, opened in _files_of(stream, kind, name, report):
        if file_kind == CSV:
            part = ImportReport(provenance=provenance and replace(provenance, source=f"{provenance.source}/{file_name}"))
            try:
                _import_csv(opened, creditor_id, store, closed, policies, part, known_debtors, None)
            except InvalidImportFile as exc:  # this file of the ZIP, not the others
                part.rows += 1
                part.add_error(RowError(0, "*", "invalid_file", str(exc), None))
            _merge_csv(report, part, file_name)
        else:
            def store_one(einvoice: EInvoice, pdf: bytes | None, file_name: str = file_name) -> str:
                return _store_einvoice(einvoice, pdf, file_name, creditor_id, store, closed, policies, report,
                                       known_debtors, originals)

            _read_document(report, file_name, file_kind, opened, seller, store_one,
                           lambda note, file_name, entry: credit_notes.append((note, file_name, entry)))
        if progress:
            progress(report.rows)
    # A ZIP may hold a credit note before the invoice it corrects: notes go last, once every invoice is in.
    for note, file_name, entry in credit_notes:
        _apply_credit_note(note, file_name, entry, creditor_id, store, payments, closed_for, policies_for,
                           now, report)
    _collapse_errors(report)
    return report


def store_checked_rows(
    rows: list[InvoiceRow],
    creditor_id: str,
    store: DynamoStore,
    closed_for: Callable[[Creditor], Container[date]],
    policies_for: Callable[[Creditor], PolicyBook],
) -> ImportReport:
    """Store rows checked elsewhere (the ERP API's invoices) exactly as a file's rows: the same upsert by number."""
    creditor = store.get_creditor(creditor_id)
    if creditor is None:
        raise UnknownCreditor(f"no creditor {creditor_id!r}; create it first with `relance creditor add`",
                              creditor_id=creditor_id)
    report = ImportReport()
    report.rows = len(rows)
    _store_chunk(list(rows), creditor_id, store, closed_for(creditor), policies_for(creditor), report, {})
    return report


def _import_csv(stream: BinaryIO, creditor_id: str, store: DynamoStore, closed: Container[date],
                policies: PolicyBook, report: ImportReport, known_debtors: dict[str, Debtor],
                progress: Callable[[int], None] | None) -> None:
    """The CSV path: rows read as a stream and stored by chunks."""
    _import_rows(read_invoices(stream), creditor_id, store, closed, policies, report, known_debtors, progress)


def _import_rows(lines: Iterable[ParsedLine], creditor_id: str, store: DynamoStore, closed: Container[date],
                 policies: PolicyBook, report: ImportReport, known_debtors: dict[str, Debtor],
                 progress: Callable[[int], None] | None) -> None:
    """Store the checked lines of an export (the whole file, or one part of a split one) by chunks."""
    chunk: list[InvoiceRow] = []
    line_in_error = 0  # a row's problems come one after the other: the row counts once
    for parsed in lines:
        if isinstance(parsed, SkippedLine):
            report.add_skipped(parsed)
            continue
        if isinstance(parsed, RowError):
            report.rows += parsed.line != line_in_error
            line_in_error = parsed.line
            report.add_error(parsed)
            continue
        report.rows += 1
        chunk.append(parsed)
        if len(chunk) >= CHUNK_ROWS:
            _store_chunk(chunk, creditor_id, store, closed, policies, report, known_debtors)
            chunk = []
            if len(known_debtors) > MAX_KNOWN_DEBTORS:  # a cache of the table, written each chunk: safe to drop
                known_debtors.clear()
            if progress:
                progress(report.rows)
    if chunk:
        _store_chunk(chunk, creditor_id, store, closed, policies, report, known_debtors)
    if progress:
        progress(report.rows)


def _store_chunk(
    rows: list[InvoiceRow],
    creditor_id: str,
    store: DynamoStore,
    closed: Container[date],
    policies: PolicyBook,
    report: ImportReport,
    known_debtors: dict[str, Debtor],
    *,
    file: str | None = None,
    address: str | None = None,
) -> None:
    """Store `rows`. With `file` (one e-invoice), the debtor's contact details on record are completed,
    never replaced: an invoice that names no e-mail must not erase the one finance typed in."""
    owners = store.invoice_owners(creditor_id, (r.invoice_number for r in rows))
    existing = store.get_invoices(creditor_id, ((owners[n], n) for n in owners))
    wanted_debtors = {debtor_id_for(r.company_id, r.debtor_name) for r in rows} - set(known_debtors)
    known_debtors.update(store.get_debtors(creditor_id, wanted_debtors))
    new_invoices: list[Invoice] = []
    changes: list[tuple[Invoice, Invoice, DunningPolicy]] = []  # (stored, incoming, its policy)
    debtors_to_write: dict[str, Debtor] = {}
    contacts_to_update: dict[str, Debtor] = {}
    for row in rows:
        debtor_id = debtor_id_for(row.company_id, row.debtor_name)
        owner = owners.get(row.invoice_number)
        if owner is not None and owner != debtor_id:
            report.add_error(RowError(row.line, "invoice_number", "invoice_number_other_debtor",
                                          f"invoice {row.invoice_number} is already recorded for another customer; "
                                          "correct the number or the customer", row.invoice_number, file))
            continue
        fresh = _debtor_of(row, creditor_id, debtor_id, address)
        current = known_debtors.get(debtor_id)
        if current is not None and file is not None:
            emails = current.emails + tuple(e for e in fresh.emails if e.lower() not in
                                            {known.lower() for known in current.emails})
            fresh = replace(fresh, emails=emails, phone=current.phone)
        if current is None:
            known_debtors[debtor_id] = debtors_to_write[debtor_id] = fresh
        elif (current.name, current.emails, current.phone) != (fresh.name, fresh.emails, fresh.phone):
            updated = current.with_contact(name=fresh.name, emails=fresh.emails, phone=fresh.phone)
            known_debtors[debtor_id] = contacts_to_update[debtor_id] = updated
        report.debtor_ids.add(debtor_id)
        report.count_open(row)
        incoming = _invoice_of(row, creditor_id, debtor_id)
        stored = existing.get(row.invoice_number)
        if file is not None and stored is not None and stored.currency == incoming.currency \
                and stored.paid.minor > incoming.paid.minor:
            # An e-invoice's amount due is the one of its issue day and never changes: what was paid or
            # credited since (Stripe, finance, a credit note) is not undone by importing the document again.
            incoming = replace(incoming, paid=stored.paid)
        debtor = known_debtors[debtor_id]
        policy = policies.for_debtor(debtor.kind, debtor.risk_band)
        if stored is None:
            new_invoices.append(replace(incoming, next_action_on=plan_next_action(incoming, policy, closed)))
            report.imported += 1
        elif stored.same_terms(incoming):
            report.unchanged += 1
        else:
            changes.append((stored, incoming, policy))
            report.updated += 1
    trail = report.provenance
    if trail is not None and (new_invoices or changes):
        # One event for the chunk, not one per debtor: the calls per invoice stay within the import's budget.
        # Written before the invoices: an import stopped after it stores them again on its rerun, and says so
        # again; one stopped before it never leaves an invoice written without its event.
        created = [invoice.number for invoice in new_invoices]
        changed = [incoming.number for _stored, incoming, _policy in changes]
        store.record_creditor_event(creditor_id, {
            "action": "invoices_imported", "actor": trail.actor, "source": file or trail.source,
            "invoices": created + changed, "created": created, "updated": changed}, trail.at)
    for stored, incoming, policy in changes:
        _update_terms(stored, incoming, store, lambda invoice, policy=policy: plan_next_action(invoice, policy, closed))
    store.put_new_invoices(new_invoices, list(debtors_to_write.values()))
    for debtor in contacts_to_update.values():  # never a whole-item rewrite: a bounce may have landed meanwhile
        store.update_debtor_contact(debtor)


def _update_terms(stored: Invoice, incoming: Invoice, store: DynamoStore,
                  plan: Callable[[Invoice], date | None]) -> None:
    """Apply newer amounts or dates, keeping the dunning history; re-read once if the engine wrote meanwhile."""
    for _attempt in range(3):
        changed = stored.with_terms_of(incoming)
        try:
            store.update_invoice(replace(changed, next_action_on=plan(changed)))
            return
        except VersionConflict:
            stored = store.get_invoices(stored.creditor_id, [(stored.debtor_id, stored.number)])[stored.number]
    raise VersionConflict(stored.number)


def _collapse_errors(report: ImportReport) -> None:
    """Errors in file and line order, the first MAX_REPORTED_ERRORS kept (and skipped lines alike)."""
    report.errors_not_shown += _keep_first(report.errors, MAX_REPORTED_ERRORS)
    report.skipped_not_shown += _keep_first(report.skipped, MAX_REPORTED_SKIPPED)


# ------------------------------------------------------------------ e-invoices and archives


def sniff(stream: BinaryIO) -> tuple[BinaryIO, str]:
    """The stream (unconsumed) and what its first bytes say it is: CSV, PDF, XML or ZIP."""
    if stream.seekable():
        start = stream.tell()
        head = stream.read(SNIFF_BYTES)
        stream.seek(start)
    else:
        head = stream.read(SNIFF_BYTES)
        stream = io.BufferedReader(_Prefixed(head, stream))  # type: ignore[arg-type]
    return stream, _kind_of(head)


def _kind_of(head: bytes) -> str:
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return ZIP
    if b"%PDF-" in head:  # readers accept junk before the header, within the first kilobyte
        return PDF
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<"):
        return XML
    return CSV


class _Prefixed(io.RawIOBase):
    """The bytes already read to sniff the format, then the rest of the stream."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        super().__init__()
        self._head, self._rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001 - a writable buffer
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size], self._head = self._head[:size], self._head[size:]
            return size
        chunk = self._rest.read(len(buffer))
        buffer[:len(chunk)] = chunk
        return len(chunk)


def _files_of(stream: BinaryIO, kind: str, name: str | None,
              report: ImportReport) -> Iterator[tuple[str, str, BinaryIO]]:
    """The files to import: the document itself, or each entry of a ZIP (checked against ZIP bombs first)."""
    if kind != ZIP:
        yield name or f"invoice.{kind}", kind, stream
        return
    try:
        archive = zipfile.ZipFile(stream)
    except zipfile.BadZipFile as exc:
        raise InvalidImportFile(f"the ZIP archive cannot be read ({exc}); create it again") from exc
    with archive:
        entries = [info for info in archive.infolist() if not info.is_dir()]
        names = {info.filename for info in entries}
        if "[Content_Types].xml" in names or "mimetype" in names:
            raise InvalidImportFile("the file is a spreadsheet workbook (.xlsx or .ods), not a ZIP of invoices; "
                                    "save it as CSV (UTF-8) and try again")
        if len(entries) > MAX_ZIP_ENTRIES:
            raise InvalidImportFile(f"the ZIP holds {len(entries):,} files; at most {MAX_ZIP_ENTRIES:,} are "
                                    "imported at once: split it")
        declared = sum(info.file_size for info in entries)
        if declared > MAX_ZIP_TOTAL_BYTES:
            raise InvalidImportFile(f"the ZIP unpacks to {declared:,} bytes; at most {MAX_ZIP_TOTAL_BYTES:,} "
                                    "are imported at once: split it")
        for info in entries:
            entry = info.filename
            base = entry.rsplit("/", 1)[-1]
            if entry.startswith("__MACOSX/") or base.startswith("."):
                continue  # Finder's resource forks and hidden files are not invoices
            problem = _entry_problem(info)
            if problem is not None:
                code, message = problem
                report.rows += 1
                report.add_error(RowError(0, "*", code, message, None, entry))
                report.files.append({"name": entry, "format": None, "outcome": "error"})
                continue
            with archive.open(info) as raw:
                bounded = _Bounded(raw, MAX_ZIP_ENTRY_BYTES)
                try:
                    head = bounded.read(SNIFF_BYTES)
                except InvalidImportFile as exc:  # damaged or crafted: this file is refused, not the others
                    report.rows += 1
                    report.add_error(RowError(0, "*", "invalid_file", str(exc), None, entry))
                    report.files.append({"name": entry, "format": None, "outcome": "error"})
                    continue
                entry_kind = _kind_of(head)
                if entry_kind == ZIP:
                    report.rows += 1
                    report.add_error(RowError(0, "*", "nested_archive",
                                                  "a ZIP inside the ZIP is not opened; put its files in the "
                                                  "outer ZIP", None, entry))
                    report.files.append({"name": entry, "format": "zip", "outcome": "error"})
                    continue
                yield entry, entry_kind, io.BufferedReader(_Prefixed(head, bounded))  # type: ignore[arg-type]


def _entry_problem(info: zipfile.ZipInfo) -> tuple[str, str] | None:
    if info.flag_bits & 0x1:
        return "encrypted_entry", "the file is encrypted (password-protected ZIP); create the ZIP without a password"
    if info.file_size > MAX_ZIP_ENTRY_BYTES:
        return "entry_too_large", (f"the file unpacks to {info.file_size:,} bytes; at most {MAX_ZIP_ENTRY_BYTES:,} "
                                   "per file")
    return None


class _Bounded(io.RawIOBase):
    """A ZIP entry read through a counter: more than `limit` bytes, whatever its header claimed, is refused.
    The bytes read to sniff its format are put back in front of it by `_Prefixed`, as for any stream."""

    def __init__(self, raw: BinaryIO, limit: int) -> None:
        super().__init__()
        self._raw, self._limit, self._read = raw, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001 - a writable buffer
        try:
            chunk = self._raw.read(len(buffer))
        except (zipfile.BadZipFile, zipfile.zlib.error, EOFError, OSError) as exc:  # CRC, deflate stream, cut short
            raise InvalidImportFile(f"the file cannot be unpacked ({exc}): its ZIP headers do not match its "
                                    "content; the archive is damaged or hostile") from exc
        self._read += len(chunk)
        if self._read > self._limit:
            raise InvalidImportFile(f"the file unpacks to more than {self._limit:,} bytes, more than its ZIP "
                                    "header declared; the archive is damaged or hostile")
        buffer[:len(chunk)] = chunk
        return len(chunk)


def _merge_csv(report: ImportReport, part: ImportReport, file_name: str) -> None:
    """Add one CSV's outcome (read from a ZIP) to the whole report, its errors naming the file."""
    report.rows += part.rows
    report.imported += part.imported
    report.updated += part.updated
    report.unchanged += part.unchanged
    for error in part.errors:
        report.add_error(replace(error, file=file_name))
    for skipped in part.skipped:
        report.add_skipped(replace(skipped, file=file_name))
    report.errors_not_shown += part.errors_not_shown
    report.skipped_not_shown += part.skipped_not_shown
    report.debtor_ids |= part.debtor_ids
    for currency, minor in part.open_minor.items():
        report.open_minor[currency] = report.open_minor.get(currency, 0) + minor
    report.files.append({"name": file_name, "format": CSV, "rows": part.rows,
                         "outcome": "error" if part.errors and not part.rows else "read"})


def _read_document(report: ImportReport, file_name: str, kind: str, stream: BinaryIO, seller: SellerIds | None,
                   store: Callable[[EInvoice, bytes | None], str],
                   credit: Callable[[CreditNote, str, dict[str, Any]], None]) -> None:
    """Read one PDF or XML invoice and hand it to `store` (a credit note to `credit`, with its report
    entry to complete), or report why it is refused."""
    try:
        content = stream.read(MAX_DOCUMENT_BYTES + 1)
    except InvalidImportFile as exc:
        report.rows += 1
        report.add_error(RowError(0, "*", "entry_too_large", str(exc), None, file_name))
        report.files.append({"name": file_name, "format": kind, "outcome": "error"})
        return
    result = read_pdf_invoice(content, seller) if kind == PDF else read_xml_invoice(content, seller)
    summary: dict[str, Any] = {"name": file_name, "format": _format_name(kind, result)}
    if not isinstance(result, Rejected) or result.profile:
        summary["profile"] = PROFILE_NAMES.get(result.profile or "", None)
    if seller is None and isinstance(result, (EInvoice, CreditNote)):  # a dry run: who the creditor is
        summary["seller"] = _seller_json(result.seller_name, result.seller)
    report.rows += 1
    if isinstance(result, CreditNote):
        entry = {**summary, "invoice_number": result.number, "type_code": result.type_code,
                 "referenced_invoices": list(result.referenced_invoices),
                 "credit_minor": result.amount.minor if result.amount else None,
                 "currency": result.amount.currency if result.amount else None, "outcome": "pending"}
        report.files.append(entry)
        credit(result, file_name, entry)
        return
    if isinstance(result, Rejected):
        for problem in result.problems:
            report.add_error(RowError(0, problem.field, problem.code, problem.message, result.invoice_number,
                                      file_name))
        report.files.append({**summary, "invoice_number": result.invoice_number,
                             "outcome": "error"})
        return
    outcome = store(result, content if kind == PDF else None)
    report.files.append({**summary, "invoice_number": result.row.invoice_number,
                         "due_from": result.due_from, "outcome": outcome})


def _seller_json(name: str | None, ids: SellerIds) -> dict[str, Any]:
    """The seller an e-invoice names: the creditor it belongs to (`--creditor` is not needed to read it)."""
    return {"name": name, "siren": ids.siren, "vat_ids": sorted(ids.vat_ids)}


def _apply_credit_note(note: CreditNote, file_name: str, entry: dict[str, Any], creditor_id: str,
                       store: DynamoStore, payments: PaymentStore | None,
                       closed_for: Callable[[Creditor], Container[date]],
                       policies_for: Callable[[Creditor], PolicyBook], now: datetime | None,
                       report: ImportReport) -> None:
    """Take the credit note off what its buyer owes; its report entry says how, or why not."""
    assert note.number is not None and note.amount is not None and note.issued_on is not None
    # The invoice it corrects says who the customer is, whatever spelling of the name the note uses.
    owners = store.invoice_owners(creditor_id, note.referenced_invoices) if note.referenced_invoices else {}
    debtor_id = next((owners[n] for n in note.referenced_invoices if n in owners), None) \
        or debtor_id_for(note.company_id, note.debtor_name or "")
    entry["debtor_id"] = debtor_id

    def refuse(code: str, message: str) -> None:
        report.add_error(RowError(0, "*", code, message, note.number, file_name))
        entry["outcome"] = "error"

    if payments is None:
        refuse("credit_note_not_applied", f"credit note {note.number} was read but this import cannot record "
                                          "credits; import it with `relance import` or the S3 drop")
        return
    ports = PaymentPorts(payments, closed_for, policies_for)
    entry_note = CreditNoteEntry(note.number, note.amount, note.issued_on, note.referenced_invoices, file_name)
    try:
        outcome, change = record_credit_note(creditor_id, debtor_id, entry_note, f"import:{file_name}",
                                             now or datetime.now(UTC), ports)
    except UnknownDebtor:
        refuse("credit_note_unknown_customer",
               f"credit note {note.number} is for {note.debtor_name!r}, who has no invoice here yet; import the "
               "invoice it corrects first, then the credit note again")
        return
    if outcome is Outcome.DUPLICATE or change is None:
        report.unchanged += 1
        entry["outcome"] = "unchanged"  # applied by an earlier import: once is enough
        return
    _count_credit(report, note.amount.minor, note.amount.currency)
    entry["outcome"] = "credited"
    entry["applied"] = {a.invoice_number: a.amount.minor for a in change.applied}
    entry["credit_kept_minor"] = change.payment.credit_or_zero.minor


def _format_name(kind: str, result: EInvoice | CreditNote | Rejected) -> str:
    if kind == PDF:
        return "factur-x"
    return "ubl" if result.syntax == "UBL" else "cii"


def _store_einvoice(einvoice: EInvoice, pdf: bytes | None, file_name: str, creditor_id: str, store: DynamoStore,
                    closed: Container[date], policies: PolicyBook, report: ImportReport,
                    known_debtors: dict[str, Debtor], originals: OriginalPdfs | None) -> str:
    """Store one e-invoice like a CSV row, then keep its original PDF.

    Returns "imported", "updated", "unchanged" or "error" (the number belongs to another debtor)."""
    before = (report.imported, report.updated, report.unchanged)
    _store_chunk([einvoice.row], creditor_id, store, closed, policies, report, known_debtors,
                 file=file_name, address=einvoice.debtor_address)
    after = (report.imported, report.updated, report.unchanged)
    outcome = next((name for name, b, a in zip(("imported", "updated", "unchanged"), before, after, strict=True) if a > b), "error")
    if outcome != "error" and pdf is not None and originals is not None:
        debtor_id = debtor_id_for(einvoice.row.company_id, einvoice.row.debtor_name)
        originals.keep(creditor_id, debtor_id, einvoice.row.invoice_number, pdf)
    return outcome




# ------------------------------------------------------------------ the S3 drop


@dataclass(frozen=True, slots=True)
class DroppedFile:
    """A file put under `imports/{creditor_id}/` in the imports bucket."""

    key: str
    version_id: str | None
    creditor_id: str

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class ImportSummaryMail:
    """The short summary of a dropped file's import, for the creditor's finance addresses."""

    creditor: Creditor
    file_name: str
    report_key: str
    report: dict[str, Any]
    recipients: tuple[str, ...]
    language: str


class DropBox(Protocol):
    """The bucket files are dropped in; the report is written next to the file."""

    def open(self, key: str, version_id: str | None) -> BinaryIO:
        """The dropped file's bytes (seekable: a ZIP needs it)."""
        ...

    def put_report(self, key: str, body: bytes) -> None:
        ...


class ImportSummaryMailer(Protocol):
    def send_import_summary(self, mail: ImportSummaryMail) -> str:
        ...


class Splitter(Protocol):
    """Splits a CSV too large for one invocation into parts imported by other invocations
    (services/import_chunks.py); None leaves the file to this invocation."""

    def split(self, drop: DroppedFile, stream: BinaryIO) -> DropOutcome | None:
        ...


@dataclass(frozen=True, slots=True)
class DropOutcome:
    """What became of a dropped file: "imported" (even with per-row errors), "refused", "unknown_creditor",
    or "split" into parts imported by SQS chunks (services/import_chunks.py)."""

    status: str
    report_key: str
    rows: int
    errors: int
    mailed: bool
    chunks: int = 0  # "split": the parts queued; "imported" by parts: how many were merged


def import_dropped_file(
    drop: DroppedFile,
    store: DynamoStore,
    closed_for: Callable[[Creditor], Container[date]],
    policies_for: Callable[[Creditor], PolicyBook],
    drop_box: DropBox,
    originals: OriginalPdfs | None,
    mailer: ImportSummaryMailer,
    payments: PaymentStore | None = None,
    now: datetime | None = None,
    splitter: Splitter | None = None,
) -> DropOutcome:
    """Import a dropped file through the same door as `relance import`, write its report next to it
    (`<key>.report.json`, the `relance import --json` shape) and mail finance a summary.

    A file that cannot be read at all, or that names an unknown creditor, still gets a report saying why.
    With a `splitter`, a CSV of more lines than one part is only split here: its parts are imported
    elsewhere, and the last of them writes the report and mails the summary.
    """
    report_key = import_report_key(drop.key)
    creditor = store.get_creditor(drop.creditor_id)
    if creditor is None:
        body = {"error": {"code": UnknownCreditor.code,
                          "message": f"no creditor {drop.creditor_id!r}: files go under imports/<creditor id>/"}}
        drop_box.put_report(report_key, _json_bytes(body))
        return DropOutcome("unknown_creditor", report_key, 0, 1, False)
    with drop_box.open(drop.key, drop.version_id) as stream:
        try:
            split = splitter.split(drop, stream) if splitter is not None else None
            if split is not None:
                return split
            stream.seek(0)
            report = import_file(stream, drop.creditor_id, store, closed_for, policies_for, name=drop.name,
                                 originals=originals, payments=payments, now=now, actor="s3-drop").to_json()
            status = "imported"
        except InvalidImportFile as exc:
            report = {"error": {"code": exc.code, "message": str(exc)}}
            status = "refused"
    drop_box.put_report(report_key, _json_bytes(report))
    recipients = tuple(creditor.finance_emails)
    if recipients:
        mailer.send_import_summary(ImportSummaryMail(creditor, drop.name, report_key, report, recipients,
                                                     creditor.language))
    errors = len(report.get("errors", [])) + report.get("errors_not_shown", 0) + ("error" in report)
    return DropOutcome(status, report_key, int(report.get("rows", 0)), errors, bool(recipients))


def _json_bytes(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, indent=2).encode("utf-8")
