"""Build a debtor's evidence bundle (ZIP) for a lawyer: loads through read-only ports, lays out with the domain."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from relance.adapters import keys
from relance.domain.evidence import EvidenceData, bundle_files, bundle_name, formal_notice_days, late_fees_on
from relance.domain.invoices import Invoice
from relance.domain.late_fees import Rulebook
from relance.domain.parties import Creditor, Debtor
from relance.domain.rates import RateTable
from relance.services.audit_chain import AuditChainStore, verify_debtor

ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # every entry's timestamp: the same data gives the same bytes


class EvidenceStore(Protocol):
    def get_creditor(self, creditor_id: str) -> Creditor | None: ...
    def debtor_with_invoices(self, creditor_id: str, debtor_id: str) -> tuple[Debtor | None, list[Invoice]]: ...
    def contacts_of(self, creditor_id: str, debtor_id: str) -> list[dict[str, Any]]: ...
    def disputes_of(self, creditor_id: str, debtor_id: str) -> list[dict[str, Any]]: ...


class DocumentReader(Protocol):
    def get(self, key: str) -> bytes: ...


@dataclass(frozen=True)
class EvidencePorts:
    """What the bundle reads; nothing here writes."""

    store: EvidenceStore
    chain: AuditChainStore
    documents: DocumentReader
    law: Callable[[], tuple[RateTable, Rulebook]]


@dataclass(frozen=True, slots=True)
class EvidenceBundle:
    filename: str
    body: bytes
    parts: tuple[str, ...]


def evidence_bundle(creditor_id: str, debtor_id: str, as_of: date, now: datetime,
                    ports: EvidencePorts) -> EvidenceBundle | None:
    """The debtor's evidence bundle as of `as_of`; None when the creditor has no such debtor.

    `now` only decides which recent audit events are still too fresh to be chained (see `verify`).
    """
    creditor = ports.store.get_creditor(creditor_id)
    debtor, invoices = ports.store.debtor_with_invoices(creditor_id, debtor_id)
    if creditor is None or debtor is None:
        return None
    contacts = ports.store.contacts_of(creditor_id, debtor_id)
    document_keys = sorted({str(k) for c in contacts for k in c.get("document_keys") or ()})
    documents = {key: ports.documents.get(key) for key in document_keys}
    partition = keys.debtor_pk(creditor_id, debtor_id)
    chain = ports.chain.links(creditor_id)
    verification = verify_debtor(creditor_id, partition, ports.chain, now=now, links=chain)
    links = [link for link in chain if link.event_key.partition == partition]
    rates, rulebook = ports.law()
    data = EvidenceData(
        creditor=creditor,
        debtor=debtor,
        as_of=as_of,
        invoices=invoices,
        contacts=contacts,
        documents=documents,
        disputes=ports.store.disputes_of(creditor_id, debtor_id),
        audit_events=ports.chain.debtor_events(partition),  # decoded as hashed: the chain's exact input
        chain_links=links,
        verification=verification,
        late_fees=late_fees_on(creditor, debtor, invoices, as_of, rates, rulebook, formal_notice_days(contacts)),
    )
    files = bundle_files(data)
    return EvidenceBundle(bundle_name(data), zip_files((f.path, f.body) for f in files),
                          tuple(f.path for f in files))


def zip_files(files: Iterable[tuple[str, bytes]]) -> bytes:
    """A deflated ZIP of (path, bytes) in the given order, every entry dated ZIP_DATE."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, body in files:
            entry = zipfile.ZipInfo(path, date_time=ZIP_DATE)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, body)
    return out.getvalue()
