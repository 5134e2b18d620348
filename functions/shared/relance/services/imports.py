"""Import invoices from an accounting export: every good row stored once, every bad row reported."""

from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, BinaryIO

from relance.adapters.dynamo import DynamoStore, VersionConflict
from relance.domain.csv_invoices import InvoiceRow, RowError, SkippedLine, read_invoices
from relance.domain.errors import UnknownCreditor
from relance.domain.invoices import Invoice
from relance.domain.parties import Creditor, Debtor, debtor_id_for, language_for
from relance.domain.dunning import plan_next_action
from relance.domain.policy import PolicyBook

CHUNK_ROWS = 100  # one BatchGetItem of invoice numbers per chunk


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

    def count_open(self, row: InvoiceRow) -> None:
        balance = row.total - row.paid
        self.open_minor[balance.currency] = self.open_minor.get(balance.currency, 0) + balance.minor

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [
                {"line": e.line, "field": e.field, "code": e.code, "message": e.message} for e in self.errors
            ],
            "skipped": [{"line": s.line, "reason": s.reason} for s in self.skipped],
            "debtors": len(self.debtor_ids),
            "open": dict(sorted(self.open_minor.items())),
        }


def _invoice_of(row: InvoiceRow, creditor_id: str, debtor_id: str) -> Invoice:
    return Invoice(creditor_id, debtor_id, row.invoice_number, row.issued_on, row.due_on, row.total, row.paid)


def _debtor_of(row: InvoiceRow, creditor_id: str, debtor_id: str) -> Debtor:
    emails = (row.email,) if row.email else ()
    language = row.language or language_for(row.company_id, row.email)
    return Debtor(creditor_id, debtor_id, row.debtor_name, company_id=row.company_id, emails=emails,
                  phone=row.phone, language=language)


def check_file(stream: BinaryIO, progress: Callable[[int], None] | None = None) -> ImportReport:
    """Parse and validate only (`--dry-run`): what an import would do, without any AWS call."""
    report = ImportReport()
    lines_in_error: set[int] = set()
    for parsed in read_invoices(stream):
        if isinstance(parsed, SkippedLine):
            report.skipped.append(parsed)
            continue
        if isinstance(parsed, RowError):
            report.rows += parsed.line not in lines_in_error
            lines_in_error.add(parsed.line)
            report.errors.append(parsed)
            continue
        report.rows += 1
        report.imported += 1
        report.debtor_ids.add(debtor_id_for(parsed.company_id, parsed.debtor_name))
        report.count_open(parsed)
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
) -> ImportReport:
    """Upsert every valid row by creditor + invoice number; a later file updates amounts paid."""
    creditor = store.get_creditor(creditor_id)
    if creditor is None:
        raise UnknownCreditor(f"no creditor {creditor_id!r}; create it first with `relance creditor add`",
                              creditor_id=creditor_id)
    closed = closed_for(creditor)
    policies = policies_for(creditor)
    report = ImportReport()
    known_debtors: dict[str, Debtor] = {}
    chunk: list[InvoiceRow] = []
    lines_in_error: set[int] = set()
    for parsed in read_invoices(stream):
        if isinstance(parsed, SkippedLine):
            report.skipped.append(parsed)
            continue
        if isinstance(parsed, RowError):
            report.rows += parsed.line not in lines_in_error
            lines_in_error.add(parsed.line)
            report.errors.append(parsed)
            continue
        report.rows += 1
        chunk.append(parsed)
        if len(chunk) >= CHUNK_ROWS:
            _store_chunk(chunk, creditor_id, store, closed, policies, report, known_debtors)
            chunk = []
            if progress:
                progress(report.rows)
    if chunk:
        _store_chunk(chunk, creditor_id, store, closed, policies, report, known_debtors)
    if progress:
        progress(report.rows)
    _collapse_errors(report)
    return report


def _store_chunk(
    rows: list[InvoiceRow],
    creditor_id: str,
    store: DynamoStore,
    closed: Container[date],
    policies: PolicyBook,
    report: ImportReport,
    known_debtors: dict[str, Debtor],
) -> None:
    owners = store.invoice_owners(creditor_id, (r.invoice_number for r in rows))
    existing = store.get_invoices(creditor_id, ((owners[n], n) for n in owners))
    wanted_debtors = {debtor_id_for(r.company_id, r.debtor_name) for r in rows} - set(known_debtors)
    known_debtors.update(store.get_debtors(creditor_id, wanted_debtors))
    new_invoices: list[Invoice] = []
    debtors_to_write: dict[str, Debtor] = {}
    contacts_to_update: dict[str, Debtor] = {}
    for row in rows:
        debtor_id = debtor_id_for(row.company_id, row.debtor_name)
        owner = owners.get(row.invoice_number)
        if owner is not None and owner != debtor_id:
            report.errors.append(RowError(row.line, "invoice_number", "invoice_number_other_debtor",
                                          f"invoice {row.invoice_number} is already recorded for another customer; "
                                          "correct the number or the customer", row.invoice_number))
            continue
        fresh = _debtor_of(row, creditor_id, debtor_id)
        current = known_debtors.get(debtor_id)
        if current is None:
            known_debtors[debtor_id] = debtors_to_write[debtor_id] = fresh
        elif (current.name, current.emails, current.phone) != (fresh.name, fresh.emails, fresh.phone):
            updated = current.with_contact(name=fresh.name, emails=fresh.emails, phone=fresh.phone)
            known_debtors[debtor_id] = contacts_to_update[debtor_id] = updated
        report.debtor_ids.add(debtor_id)
        report.count_open(row)
        incoming = _invoice_of(row, creditor_id, debtor_id)
        stored = existing.get(row.invoice_number)
        debtor = known_debtors[debtor_id]
        policy = policies.for_debtor(debtor.kind, debtor.risk_band)
        if stored is None:
            new_invoices.append(replace(incoming, next_action_on=plan_next_action(incoming, policy, closed)))
            report.imported += 1
        elif stored.same_terms(incoming):
            report.unchanged += 1
        else:
            _update_terms(stored, incoming, store, lambda invoice: plan_next_action(invoice, policy, closed))
            report.updated += 1
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
    report.errors.sort(key=lambda e: (e.line, e.field))


