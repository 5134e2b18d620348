"""A debtor's GDPR rights and the retention sweep: export everything personal, erase it once nothing is
owed, and erase settled debtors whose retention period is over. Rules in domain/gdpr.py.

Erasing redacts in place: amounts, dates, invoice numbers and ids stay, so balances and figures do not
move; audit events keep their keys and are redacted with the debtor's pseudonym, which the audit
chain records as an erasure (docs/architecture/audit.md) so `relance audit verify` still holds.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from relance.adapters import keys
from relance.domain.access import address_sha256
from relance.domain.errors import UnknownDebtor
from relance.domain.gdpr import (
    ErasureRefused,
    erased_token,
    erasure_refusals,
    id_reveals_identity,
    json_safe,
    personal_content,
    personal_values,
    UnknownRetention,
    pseudonym,
    redact,
    retention_rule,
)
from relance.domain.invoices import Invoice
from relance.domain.parties import Creditor

CREDIT_PREFIX = "minor_"  # the credit item's attribute per currency (adapters/payments_store.py)
ERASED_ACTION = "personal_data_erased"


class GdprStore(Protocol):
    def debtor_items(self, creditor_id: str, debtor_id: str) -> list[dict[str, Any]]: ...
    def invoices_in(self, items: Sequence[dict[str, Any]]) -> list[Invoice]: ...
    def related_items(self, creditor_id: str, debtor_id: str,
                      debtor_items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]: ...
    def set_attributes(self, item: dict[str, Any], changed: dict[str, Any]) -> None: ...
    def delete_email_index(self, creditor_id: str, debtor_id: str, address_digests: Sequence[str]) -> int: ...
    def put_audit(self, item: dict[str, Any]) -> None: ...
    def debtor_ids(self, creditor_id: str) -> list[str]: ...
    def last_activity_on(self, creditor_id: str, debtor_id: str) -> date | None: ...


class DebtorDocuments(Protocol):
    def versions(self, prefix: str) -> list[dict[str, Any]]: ...
    def get(self, key: str, version_id: str | None = None) -> bytes: ...
    def delete(self, versions: Sequence[dict[str, Any]]) -> int: ...


@dataclass(frozen=True)
class GdprPorts:
    store: GdprStore
    documents: DebtorDocuments
    secret: bytes  # keys the pseudonym (adapters/settings.py: derived from the link secret)


class ErasureOutcome(StrEnum):
    ERASED = "erased"
    NOTHING_LEFT = "nothing_left"  # erased before, and nothing personal came back since


@dataclass(frozen=True, slots=True)
class ErasureResult:
    outcome: ErasureOutcome
    pseudonym: str
    items_redacted: int
    documents_deleted: int
    index_entries_deleted: int


def _debtor_items(creditor_id: str, debtor_id: str, ports: GdprPorts) -> list[dict[str, Any]]:
    items = ports.store.debtor_items(creditor_id, debtor_id)
    if not any(item.get("entity") == "debtor" for item in items):
        raise UnknownDebtor(f"no debtor {debtor_id!r} for creditor {creditor_id!r}", debtor_id=debtor_id)
    return items


def export_debtor(creditor_id: str, debtor_id: str, now: datetime, ports: GdprPorts,
                  include_documents: bool = True) -> dict[str, Any]:
    """Every personal field stored about the debtor, grouped by source (the item's kind), and their S3 documents.

    Art. 15 and 20 GDPR: what is held, in a structured, machine-readable form. Documents are listed with
    every stored version; the current version's bytes are included (base64) unless `include_documents` is off.
    """
    items = _debtor_items(creditor_id, debtor_id, ports)
    related = ports.store.related_items(creditor_id, debtor_id, items)
    values = personal_values([*items, *related])
    sources: dict[str, list[dict[str, Any]]] = {}
    fields: set[str] = set()
    for item in [*items, *related]:
        content = personal_content(item, values)
        if content:
            sources.setdefault(str(item.get("entity") or "other"), []).append(
                {"item": {"PK": item["PK"], "SK": item["SK"]}, "fields": json_safe(content)})
            fields.update(content)
    documents = []
    for version in ports.documents.versions(keys.debtor_documents_prefix(creditor_id, debtor_id)):
        entry = {name: version[name] for name in ("key", "version_id", "size", "latest", "delete_marker")}
        if include_documents and version["latest"] and not version["delete_marker"]:
            entry["content_base64"] = base64.b64encode(ports.documents.get(version["key"])).decode("ascii")
        documents.append(entry)
    return {"creditor_id": creditor_id, "debtor_id": debtor_id, "generated_at": now.isoformat(),
            "debtor_id_reveals_identity": id_reveals_identity(debtor_id),
            "fields": sorted(fields), "personal_data": sources, "documents": documents}


def erase_debtor(creditor_id: str, debtor_id: str, actor: str, reason: str, now: datetime,
                 ports: GdprPorts) -> ErasureResult:
    """Redact the debtor's personal data everywhere and delete their documents; refused while a debt is open.

    Raises ErasureRefused naming each reason (open invoice, running plan, open dispute, credit to refund,
    payment in progress),
    UnknownDebtor when the creditor has no such debtor. Running it again finds nothing left and writes nothing.
    """
    items = _debtor_items(creditor_id, debtor_id, ports)
    by_entity: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_entity.setdefault(str(item.get("entity")), []).append(item)
    credit = {name.removeprefix(CREDIT_PREFIX): int(minor) for item in by_entity.get("credit", [])
              for name, minor in item.items() if name.startswith(CREDIT_PREFIX)}
    related = ports.store.related_items(creditor_id, debtor_id, items)
    refusals = erasure_refusals(ports.store.invoices_in(by_entity.get("invoice", [])),
                                by_entity.get("plan", []), by_entity.get("dispute", []), credit,
                                [item for item in related if item.get("entity") == "payment"],
                                [item for item in related if item.get("entity") == "unmatched_payment"])
    if refusals:
        raise ErasureRefused(refusals)
    values = personal_values([*items, *related])
    alias = pseudonym(ports.secret, creditor_id, debtor_id)
    token = erased_token(alias)
    redacted = 0
    for item in [*items, *related]:
        after = redact(item, values, token)
        changed = {name: value for name, value in after.items() if value != item.get(name)}
        if changed:
            if item.get("entity") == "debtor":  # every portal link already sent stops working
                changed["link_version"] = int(item.get("link_version", 1)) + 1
            ports.store.set_attributes(item, changed)
            redacted += 1
    index = ports.store.delete_email_index(creditor_id, debtor_id,
                                           [address_sha256(v) for v in values if "@" in v])
    versions = ports.documents.versions(keys.debtor_documents_prefix(creditor_id, debtor_id))
    deleted = ports.documents.delete(versions) if versions else 0
    if not (redacted or index or deleted):
        return ErasureResult(ErasureOutcome.NOTHING_LEFT, alias, 0, 0, 0)
    audit = {"action": ERASED_ACTION, "actor": actor, "reason": reason, "pseudonym": alias,
             "items_redacted": redacted, "documents_deleted": deleted, "index_entries_deleted": index}
    ports.store.put_audit({"PK": keys.debtor_pk(creditor_id, debtor_id),
                           "SK": keys.audit_sk(now, uuid.uuid4().hex[:12]), "entity": "audit",
                           "creditor_id": creditor_id, "debtor_id": debtor_id, "at": now.isoformat(), **audit})
    return ErasureResult(ErasureOutcome.ERASED, alias, redacted, deleted, index)


@dataclass(frozen=True, slots=True)
class SweepResult:
    erased: tuple[str, ...]  # debtor ids erased (or, dry run, that would be)
    refused: tuple[str, ...]  # past the period but a debt or a matter is open
    kept: int  # still inside the retention period, or with nothing to date it


def retention_sweep(creditor_id: str, country: str, today: date, now: datetime,
                    years_by_jurisdiction: Mapping[str, int], ports: GdprPorts, dry_run: bool = False) -> SweepResult:
    """Erase every settled debtor of the creditor whose last activity is older than the retention period.

    Reads the creditor's debtor list (AP12) and, per debtor, only its newest audit event (AP4): no Scan.
    """
    rule = retention_rule(country, years_by_jurisdiction)
    erased: list[str] = []
    refused: list[str] = []
    kept = 0
    for debtor_id in ports.store.debtor_ids(creditor_id):
        last = ports.store.last_activity_on(creditor_id, debtor_id)
        if last is None or not rule.is_due(last, today):
            kept += 1
            continue
        if dry_run:
            erased.append(debtor_id)
            continue
        try:
            result = erase_debtor(creditor_id, debtor_id, "retention", "retention", now, ports)
        except ErasureRefused:
            refused.append(debtor_id)
            continue
        if result.outcome is ErasureOutcome.ERASED:
            erased.append(debtor_id)
    return SweepResult(tuple(erased), tuple(refused), kept)


@dataclass(frozen=True, slots=True)
class SweepReport:
    """What one scheduled sweep over every creditor did: counts only, never a debtor id (they may be personal)."""

    creditors_swept: int = 0
    creditors_left: int = 0  # not reached before the invocation's time ran out
    creditors_failed: tuple[str, ...] = ()  # no retention period for their country (jurisdictions.yaml)
    erased: int = 0
    refused: int = 0
    kept: int = 0
    per_creditor: dict[str, dict[str, int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "creditors_failed": list(self.creditors_failed)}


def sweep_creditors(creditors: Sequence[Creditor], now: datetime, years_by_jurisdiction: Mapping[str, int],
                    ports: GdprPorts, seconds_left: Callable[[], float] | None = None,
                    reserve_seconds: float = 120.0) -> SweepReport:
    """The retention sweep of every creditor, each on its own calendar day; what the monthly schedule runs.

    Stops before a creditor when less than `reserve_seconds` remain (`seconds_left`, the Lambda's clock):
    those are counted in `creditors_left` for the operator (`relance gdpr sweep --creditor C` finishes
    them, and the next run starts over; erasing twice finds nothing left). A creditor whose country has no
    retention period is skipped and named, the others still swept.
    """
    swept = erased = refused = kept = 0
    failed: list[str] = []
    per_creditor: dict[str, dict[str, int]] = {}
    for position, creditor in enumerate(creditors):
        if seconds_left is not None and seconds_left() < reserve_seconds:
            return SweepReport(swept, len(creditors) - position, tuple(failed), erased, refused, kept, per_creditor)
        today = now.astimezone(ZoneInfo(creditor.timezone)).date()
        try:
            result = retention_sweep(creditor.creditor_id, creditor.country, today, now, years_by_jurisdiction, ports)
        except UnknownRetention:
            failed.append(creditor.creditor_id)
            continue
        swept += 1
        erased += len(result.erased)
        refused += len(result.refused)
        kept += result.kept
        per_creditor[creditor.creditor_id] = {"erased": len(result.erased), "refused": len(result.refused),
                                              "kept": result.kept}
    return SweepReport(swept, 0, tuple(failed), erased, refused, kept, per_creditor)
