"""The one DynamoDB table: items in, domain objects out. No business decisions here.

Access patterns and keys: docs/architecture/access-patterns.md; key strings: adapters/keys.py.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any


from relance.adapters import keys
from relance.adapters.aws import client
from relance.adapters.dynamo_codec import from_dynamo as _from_dynamo
from relance.adapters.dynamo_codec import to_dynamo as _to_dynamo
from relance.domain.access import address_sha256
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Creditor, Debtor, PartyKind
from relance.services.accounts import DebtorAccount

BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25
OWNER_RANGE_PAGES = 2  # pages of the invoice number registry read before looking the rest up by key
OWNER_PAGE_ITEMS = 4_000  # registry entries per page: a chunk of 1,000 numbers among up to 7,000 others
SALES_LINES_PER_ITEM = 2_000  # about 110 KB of lines: well under DynamoDB's 400 KB per item
SUMMARY_CHUNK = 50  # summary entries per UpdateItem (expression size stays far below DynamoDB's limits)


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


# --- item mapping -------------------------------------------------------------------------------


def creditor_item(creditor: Creditor) -> dict[str, Any]:
    return {
        **keys.creditor_key(creditor.creditor_id),
        "entity": "creditor",
        "creditor_id": creditor.creditor_id,
        "legal_name": creditor.legal_name,
        "siren": creditor.siren,
        "timezone": creditor.timezone,
        "country": creditor.country,
        "subdivision": creditor.subdivision,
        "language": creditor.language,
        "policy_id": creditor.policy_id,
        "contact_email": creditor.contact_email,
        "contact_phone": creditor.contact_phone,
        "address": creditor.address,
        "finance_emails": list(creditor.finance_emails) or None,  # the alerts digest's recipients
        "vat_id": creditor.vat_id,
    }


def creditor_from(item: dict[str, Any]) -> Creditor:
    return Creditor(
        creditor_id=item["creditor_id"],
        legal_name=item["legal_name"],
        siren=item.get("siren"),
        timezone=item.get("timezone", "Europe/Paris"),
        country=item.get("country", "FR"),
        subdivision=item.get("subdivision"),
        language=item.get("language", "fr"),
        policy_id=item.get("policy_id", "fr-b2b"),
        contact_email=item.get("contact_email"),
        contact_phone=item.get("contact_phone"),
        address=item.get("address"),
        finance_emails=tuple(item.get("finance_emails") or ()),
        vat_id=item.get("vat_id"),
    )


def debtor_item(debtor: Debtor) -> dict[str, Any]:
    return {
        **keys.debtor_key(debtor.creditor_id, debtor.debtor_id),
        "GSI1PK": keys.debtor_index_pk(debtor.creditor_id),  # AP12: the creditor's debtors, for the dashboard
        "GSI1SK": debtor.debtor_id,
        "entity": "debtor",
        "creditor_id": debtor.creditor_id,
        "debtor_id": debtor.debtor_id,
        "name": debtor.name,
        "kind": debtor.kind.value,
        "company_id": debtor.company_id,
        "emails": list(debtor.emails) or None,
        "phone": debtor.phone,
        "language": debtor.language,
        "link_version": debtor.link_version,
        "address": debtor.address,
        "undeliverable": list(debtor.undeliverable) or None,
        "risk_band": debtor.risk_band,
        OPEN_INVOICES: {},
    }


def debtor_from(item: dict[str, Any]) -> Debtor:
    return Debtor(
        creditor_id=item["creditor_id"],
        debtor_id=item["debtor_id"],
        name=item["name"],
        kind=PartyKind(item.get("kind", "business")),
        company_id=item.get("company_id"),
        emails=tuple(item.get("emails") or ()),
        phone=item.get("phone") or None,
        language=item.get("language", "fr"),
        link_version=int(item.get("link_version", 1)),
        address=item.get("address") or None,
        undeliverable=tuple(item.get("undeliverable") or ()),
        risk_band=item.get("risk_band"),
        dunning_paused_until=_day(item.get("dunning_paused_until")),
    )


def _next_action_keys(invoice: Invoice) -> dict[str, str]:
    """GSI1: an open invoice with work planned is in the daily scan's partition (AP2); a settled one,
    never worked on again, is in its debtor's settled partition by number (AP1c, "recently paid")."""
    if invoice.is_settled():
        return {"GSI1PK": keys.settled_index_pk(invoice.creditor_id, invoice.debtor_id), "GSI1SK": invoice.number}
    if invoice.next_action_on is None:
        return {}
    return {
        "GSI1PK": keys.next_action_pk(invoice.creditor_id),
        "GSI1SK": keys.next_action_sk(invoice.next_action_on, invoice.debtor_id, invoice.number),
    }


def invoice_item(invoice: Invoice) -> dict[str, Any]:
    return {
        **keys.invoice_key(invoice.creditor_id, invoice.debtor_id, invoice.number),
        **_next_action_keys(invoice),
        "entity": "invoice",
        "creditor_id": invoice.creditor_id,
        "debtor_id": invoice.debtor_id,
        "number": invoice.number,
        "issued_on": invoice.issued_on.isoformat(),
        "due_on": invoice.due_on.isoformat(),
        "currency": invoice.currency,
        "total_minor": invoice.total.minor,
        "paid_minor": invoice.paid.minor,
        "last_step": invoice.last_step,
        "disputed": invoice.disputed or None,
        "promised_on": invoice.promised_on.isoformat() if invoice.promised_on else None,
        "in_plan": invoice.in_plan or None,
        "last_step_on": invoice.last_step_on.isoformat() if invoice.last_step_on else None,
        "next_action_on": invoice.next_action_on.isoformat() if invoice.next_action_on else None,
        "version": invoice.version,
    }


def invoice_from(item: dict[str, Any]) -> Invoice:
    currency = item["currency"]
    return Invoice(
        creditor_id=item["creditor_id"],
        debtor_id=item["debtor_id"],
        number=item["number"],
        issued_on=date.fromisoformat(item["issued_on"]),
        due_on=date.fromisoformat(item["due_on"]),
        total=Money(int(item["total_minor"]), currency),
        paid=Money(int(item["paid_minor"]), currency),
        last_step=item.get("last_step"),
        disputed=bool(item.get("disputed", False)),
        promised_on=_day(item.get("promised_on")),
        in_plan=bool(item.get("in_plan", False)),
        last_step_on=_day(item.get("last_step_on")),
        next_action_on=_day(item.get("next_action_on")),
        version=int(item.get("version", 0)),
    )


# The debtor item's summary of their open invoices: what the dunning worker needs, in one item read.
# One short string per invoice keeps a debtor with thousands of open invoices under DynamoDB's
# 400 KB item limit (about 90 bytes each; docs/architecture/access-patterns.md).
OPEN_INVOICES = "open_invoices"
_SUMMARY_FIELDS = 11


def summary_entry(invoice: Invoice) -> str:
    """The invoice as its line in the debtor's summary (the same version as its own item)."""
    flags = ("d" if invoice.disputed else "") + ("p" if invoice.in_plan else "")
    return "|".join((
        invoice.issued_on.isoformat(), invoice.due_on.isoformat(), invoice.currency, str(invoice.total.minor),
        str(invoice.paid.minor), invoice.last_step or "", _iso(invoice.last_step_on), _iso(invoice.next_action_on),
        flags, _iso(invoice.promised_on), str(invoice.version),
    ))


def invoice_from_summary(creditor_id: str, debtor_id: str, number: str, entry: str) -> Invoice:
    fields = entry.split("|")
    if len(fields) != _SUMMARY_FIELDS:
        raise ValueError(f"malformed summary entry for invoice {number}")
    issued, due, currency, total, paid, last_step, last_on, next_on, flags, promised, version = fields
    return Invoice(
        creditor_id=creditor_id, debtor_id=debtor_id, number=number,
        issued_on=date.fromisoformat(issued), due_on=date.fromisoformat(due),
        total=Money(int(total), currency), paid=Money(int(paid), currency),
        last_step=last_step or None, last_step_on=_day(last_on), next_action_on=_day(next_on),
        disputed="d" in flags, in_plan="p" in flags, promised_on=_day(promised), version=int(version),
    )


def sales_item(invoice: Invoice) -> dict[str, Any]:
    """The invoice as one line of its month's credit sales (AP13)."""
    return {**keys.sales_key(invoice.creditor_id, invoice.issued_on, invoice.number), "entity": "sale",
            "debtor_id": invoice.debtor_id, "number": invoice.number, "issued_on": invoice.issued_on.isoformat(),
            "currency": invoice.currency, "total_minor": invoice.total.minor}


def sales_lines_items(invoices: Iterable[Invoice]) -> list[dict[str, Any]]:
    """AP13 for many invoices at once: per month, one item holding a line per invoice (by number).

    One item per invoice cost an AWS call per 25 invoices at import; lines grouped by month cost one per
    month and import chunk. The item is keyed by its first line, so writing the same invoices again
    rewrites it; an invoice written again in another group (an import re-run after a crash) is one line
    twice under one number, and the reader keeps it once.
    """
    by_month: dict[tuple[str, str], list[Invoice]] = {}
    for invoice in invoices:
        by_month.setdefault((invoice.creditor_id, invoice.issued_on.strftime("%Y-%m")), []).append(invoice)
    items: list[dict[str, Any]] = []
    for (creditor_id, _month), month_invoices in by_month.items():
        month_invoices.sort(key=lambda i: (i.issued_on, i.number))
        for start in range(0, len(month_invoices), SALES_LINES_PER_ITEM):
            group = month_invoices[start:start + SALES_LINES_PER_ITEM]
            first = group[0]
            items.append({**keys.sales_lines_key(creditor_id, first.issued_on, first.number), "entity": "sales_lines",
                          "lines": {i.number: sales_line(i) for i in group}})
    return items


def sales_line(invoice: Invoice) -> str:
    """One invoice in a sales lines item: `issued_on|currency|total_minor|debtor_id`."""
    return "|".join((invoice.issued_on.isoformat(), invoice.currency, str(invoice.total.minor), invoice.debtor_id))


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def audit_item(creditor_id: str, debtor_id: str, audit: dict[str, Any], now: datetime) -> dict[str, Any]:
    """One event of the debtor's audit trail, under a key no other event can take (append-only)."""
    return {"PK": keys.debtor_pk(creditor_id, debtor_id), "SK": keys.audit_sk(now, uuid.uuid4().hex[:12]),
            "entity": "audit", "creditor_id": creditor_id, "debtor_id": debtor_id, "at": now.isoformat(), **audit}


def email_index_items(debtor: Debtor) -> list[dict[str, Any]]:
    """PA5: one index item per distinct address of `debtor`, keyed by the address's SHA-256.

    The address itself is not stored. Write these with the debtor; an entry left over from an old
    address is harmless, because a lookup mails only debtors that still have the address on record.
    """
    hashes = sorted({address_sha256(address) for address in debtor.emails if address.strip()})
    return [
        {
            **keys.email_index_key(digest, debtor.creditor_id, debtor.debtor_id),
            "entity": "email_index",
            "creditor_id": debtor.creditor_id,
            "debtor_id": debtor.debtor_id,
        }
        for digest in hashes
    ]


def task_item(task: dict[str, Any]) -> dict[str, Any]:
    """A to-do for finance, keyed so that the same step on the same day makes the same task."""
    return {
        "PK": keys.tasks_pk(task["creditor_id"]),
        "SK": keys.task_sk(date.fromisoformat(task["due_on"]), task["kind"], task["debtor_id"]),
        "entity": "task",
        "status": "open",
        **task,
    }


@dataclass(frozen=True, slots=True)
class DueInvoice:
    """An entry of the sparse next-action index."""

    debtor_id: str
    number: str
    next_action_on: date


@dataclass(frozen=True, slots=True)
class ContactRecord:
    """The contact of a debtor on a business day: reserved before sending, completed after."""

    creditor_id: str
    debtor_id: str
    business_date: date
    status: str  # "pending" (claimed), "sending" (the mail went to SES, answer unknown), then "sent"
    step: str
    message_id: str | None = None
    channel: str | None = None
    sending_at: datetime | None = None  # when the mail was handed to SES (status "sending")


class VersionConflict(Exception):
    """Another writer changed an item between our read and our write; read again and retry."""


class DynamoStore:
    """Reads and writes Relance's items in one table."""

    def __init__(self, table_name: str, dynamodb: Any | None = None, creditor_ttl_seconds: float = 0) -> None:
        self.table_name = table_name
        self._client = dynamodb or client("dynamodb")
        self._creditor_ttl = creditor_ttl_seconds  # a worker may keep creditor profiles this long (they rarely change)
        self._creditors: dict[str, tuple[float, Creditor | None]] = {}

    # --- creditors ------------------------------------------------------------------------------

    def put_creditor(self, creditor: Creditor) -> None:
        self._client.put_item(TableName=self.table_name, Item=_to_dynamo(creditor_item(creditor)))

    def get_creditor(self, creditor_id: str) -> Creditor | None:
        if self._creditor_ttl:
            cached = self._creditors.get(creditor_id)
            if cached is not None and time.monotonic() - cached[0] < self._creditor_ttl:
                return cached[1]
        creditor = self._read_creditor(creditor_id)
        if self._creditor_ttl:
            self._creditors[creditor_id] = (time.monotonic(), creditor)
        return creditor

    def _read_creditor(self, creditor_id: str) -> Creditor | None:
        response = self._client.get_item(
            TableName=self.table_name, Key=_to_dynamo(keys.creditor_key(creditor_id)), ConsistentRead=True
        )
        item = response.get("Item")
        return creditor_from(_from_dynamo(item)) if item else None

    def list_creditors(self) -> list[Creditor]:
        """AP0: every creditor, from one partition."""
        return [
            creditor_from(item)
            for item in self._query(
                KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": keys.CREDITORS_PK}}
            )
        ]

    # --- debtors and their accounts -------------------------------------------------------------

    def debtor_account(self, creditor_id: str, debtor_id: str) -> DebtorAccount | None:
        """AP1: a debtor's profile and invoices, one Query on their partition."""
        creditor = self.get_creditor(creditor_id)
        if creditor is None:
            return None
        debtor, invoices = self.debtor_with_invoices(creditor_id, debtor_id)
        if debtor is None:
            return None
        return DebtorAccount(creditor, debtor, tuple(invoices))

    def open_account(self, creditor_id: str, debtor_id: str) -> DebtorAccount | None:
        """AP1b for the portal: a debtor and their open invoices only, from one item read."""
        creditor = self.get_creditor(creditor_id)
        if creditor is None:
            return None
        debtor, invoices = self.dunning_view(creditor_id, debtor_id)
        if debtor is None:
            return None
        return DebtorAccount(creditor, debtor, tuple(invoices))

    def debtor_with_invoices(self, creditor_id: str, debtor_id: str) -> tuple[Debtor | None, list[Invoice]]:
        """The debtor's profile and every invoice: the sort keys from "DEBTOR" to the last "INV#"
        skip contacts, audit events and codes before, and the portal's own items after."""
        debtor: Debtor | None = None
        invoices: list[Invoice] = []
        for item in self._query(
            KeyConditionExpression="PK = :pk AND SK BETWEEN :first AND :last",
            ExpressionAttributeValues={
                ":pk": {"S": keys.debtor_pk(creditor_id, debtor_id)},
                ":first": {"S": keys.DEBTOR_SK},
                ":last": {"S": keys.invoice_sk("\uffff")},
            },
            ConsistentRead=True,
        ):
            if item.get("entity") == "debtor":
                debtor = debtor_from(item)
            elif item.get("entity") == "invoice":
                invoices.append(invoice_from(item))
        return debtor, invoices

    def dunning_view(self, creditor_id: str, debtor_id: str) -> tuple[Debtor | None, list[Invoice]]:
        """AP1b: the debtor and their open invoices, from the debtor item's summary: one item read.

        The dunning worker needs nothing else, so its cost does not grow with the debtor's history
        of settled invoices, contacts and audit events.
        """
        response = self._client.get_item(TableName=self.table_name, ConsistentRead=True,
                                         Key=_to_dynamo(keys.debtor_key(creditor_id, debtor_id)))
        if "Item" not in response:
            return None, []
        item = _from_dynamo(response["Item"])
        invoices = [invoice_from_summary(creditor_id, debtor_id, number, entry)
                    for number, entry in sorted((item.get(OPEN_INVOICES) or {}).items())]
        return debtor_from(item), invoices

    def recently_settled(self, creditor_id: str, debtor_id: str, limit: int) -> list[Invoice]:
        """AP1c: the debtor's `limit` highest-numbered settled invoices, newest number first: one Query on
        their settled partition of GSI1, then one BatchGetItem of those invoices (none when nothing is settled).

        French invoice numbers run in one chronological sequence (CGI, art. 242 nonies A), so these are
        the most recent ones; the portal shows them as recently paid. Only what is shown is read.
        """
        response = self._client.query(
            TableName=self.table_name,
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :pk",
            ExpressionAttributeValues={":pk": {"S": keys.settled_index_pk(creditor_id, debtor_id)}},
            ScanIndexForward=False,
            Limit=limit,
        )
        numbers = [_from_dynamo(entry)["number"] for entry in response.get("Items", [])]
        found = {item["number"]: invoice_from(item)
                 for item in self._batch_get([keys.invoice_key(creditor_id, debtor_id, n) for n in numbers])}
        # the index is eventually consistent: an invoice reopened since (a refund) is left out
        return [found[n] for n in numbers if n in found and found[n].is_settled()]

    def get_debtors(self, creditor_id: str, debtor_ids: Iterable[str]) -> dict[str, Debtor]:
        items = self._batch_get([keys.debtor_key(creditor_id, d) for d in set(debtor_ids)])
        return {item["debtor_id"]: debtor_from(item) for item in items}

    def put_debtor(self, debtor: Debtor) -> None:
        """Write a new debtor (with no open invoices yet) and their e-mail index entries."""
        self._client.put_item(TableName=self.table_name, Item=_to_dynamo(debtor_item(debtor)))
        self._batch_put(email_index_items(debtor))

    def update_debtor_contact(self, debtor: Debtor) -> None:
        """Set a known debtor's name, e-mails and phone, leaving what others write (bounces, link version) alone."""
        self._client.update_item(
            TableName=self.table_name,
            Key=_to_dynamo(keys.debtor_key(debtor.creditor_id, debtor.debtor_id)),
            UpdateExpression="SET #n = :name, emails = :emails, phone = :phone",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeNames={"#n": "name"},
            ExpressionAttributeValues=_to_dynamo({":name": debtor.name, ":emails": list(debtor.emails),
                                                  ":phone": debtor.phone or ""}),
        )
        self._batch_put(email_index_items(debtor))

    def mark_undeliverable(self, creditor_id: str, debtor_id: str, address: str, audit: dict[str, Any],
                           now: datetime) -> bool:
        """Record that mail to `address` bounced, with its audit event; False if already known or no such debtor."""
        pk = keys.debtor_pk(creditor_id, debtor_id)
        try:
            self._client.transact_write_items(TransactItems=[
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": _to_dynamo({"PK": pk, "SK": keys.DEBTOR_SK}),
                        "UpdateExpression": "SET undeliverable = list_append(if_not_exists(undeliverable, :none), :one)",
                        "ConditionExpression": "attribute_exists(PK) AND NOT contains(undeliverable, :address)",
                        "ExpressionAttributeValues": _to_dynamo(
                            {":none": [], ":one": [address], ":address": address}),
                    }
                },
                self._audit_put(creditor_id, debtor_id, audit, now),
            ])
        except self._client.exceptions.TransactionCanceledException:
            return False
        return True

    def record_delivery(self, creditor_id: str, debtor_id: str, ses_message_id: str, audit: dict[str, Any],
                        now: datetime) -> bool:
        """Keep SES's delivery receipt of a mail with its audit event; False if this receipt is already kept.

        The receipt's own item is put only if absent, in the transaction with the audit event, so SNS
        delivering the same event twice leaves one event in the trail.
        """
        pk = keys.debtor_pk(creditor_id, debtor_id)
        receipt = {"PK": pk, "SK": keys.delivery_sk(ses_message_id), "entity": "mail_delivery",
                   "message_id": ses_message_id, "delivered_at": audit.get("delivered_at"), "recorded_at": now.isoformat()}
        try:
            self._client.transact_write_items(TransactItems=[
                {"Put": {"TableName": self.table_name, "Item": _to_dynamo(receipt),
                         "ConditionExpression": "attribute_not_exists(PK)"}},
                self._audit_put(creditor_id, debtor_id, audit, now),
            ])
        except self._client.exceptions.TransactionCanceledException:
            return False
        return True

    # --- invoices -------------------------------------------------------------------------------

    def invoice_owners(self, creditor_id: str, numbers: Iterable[str]) -> dict[str, str]:
        """Which debtor holds each of these invoice numbers (absent: a new invoice).

        An export's numbers mostly follow each other, so one Query of the registry between the smallest
        and the largest answers a whole import chunk in one call (BatchGetItem takes 100 keys). Numbers
        spread over a crowded registry stop the Query after OWNER_RANGE_PAGES pages: the rest are then
        read by key, so the cost stays bounded whatever the order of the file.
        """
        wanted = sorted(set(numbers))
        if len(wanted) <= BATCH_GET_LIMIT:
            items = self._batch_get([keys.invoice_number_key(creditor_id, n) for n in wanted])
            return {item["SK"]: item["debtor_id"] for item in items}
        wanted_set = set(wanted)
        found: dict[str, str] = {}
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "PK = :pk AND SK BETWEEN :first AND :last",
            "ProjectionExpression": "SK, debtor_id",
            "ExpressionAttributeValues": _to_dynamo({":pk": keys.invoice_number_key(creditor_id, wanted[0])["PK"],
                                                     ":first": wanted[0], ":last": wanted[-1]}),
            "ConsistentRead": True,
            "Limit": OWNER_PAGE_ITEMS,
        }
        last: dict[str, Any] = {}
        for _page in range(OWNER_RANGE_PAGES):
            response = self._client.query(**request)
            for item in map(_from_dynamo, response.get("Items", [])):
                if item["SK"] in wanted_set:
                    found[item["SK"]] = item["debtor_id"]
            last = response.get("LastEvaluatedKey")
            if not last:
                return found
            request["ExclusiveStartKey"] = last
        after = _from_dynamo(last)["SK"]
        rest = [keys.invoice_number_key(creditor_id, n) for n in wanted if n > after]
        found.update({item["SK"]: item["debtor_id"] for item in self._batch_get(rest)})
        return found

    def get_invoices(self, creditor_id: str, refs: Iterable[tuple[str, str]]) -> dict[str, Invoice]:
        """Invoices by (debtor_id, number), keyed by number."""
        items = self._batch_get([keys.invoice_key(creditor_id, d, n) for d, n in set(refs)])
        return {item["number"]: invoice_from(item) for item in items}

    def put_new_invoices(self, invoices: list[Invoice], debtors: list[Debtor]) -> None:
        """Store new invoices with their number registry entries, and new debtors, batched.

        A new debtor's item is written with the summary of their new open invoices; an existing
        debtor's summary gets its new entries by one UpdateItem per debtor and chunk. The number
        registry entries go last: an import killed half-way leaves invoices that the next run does
        not find by number, so it writes them again with their summary entries and sales lines,
        instead of counting them "unchanged" while dunning never sees them.
        """
        new_debtors = {d.debtor_id for d in debtors}
        opened: dict[str, list[Invoice]] = {}
        for invoice in invoices:
            if not invoice.is_settled():
                opened.setdefault(invoice.debtor_id, []).append(invoice)
        items: list[dict[str, Any]] = []
        for debtor in debtors:
            items.append({**debtor_item(debtor),
                          OPEN_INVOICES: {i.number: summary_entry(i) for i in opened.get(debtor.debtor_id, [])}})
            items.extend(email_index_items(debtor))  # "send me a new link" finds the debtor by address
        items.extend(invoice_item(invoice) for invoice in invoices)
        items.extend(sales_lines_items(invoices))  # AP13: the month's credit sales, for DSO
        self._batch_put(items)
        for debtor_id, added in opened.items():
            if debtor_id in new_debtors:
                continue
            for start in range(0, len(added), SUMMARY_CHUNK):
                update = self._summary_update(added[0].creditor_id, debtor_id, added[start:start + SUMMARY_CHUNK])
                self._client.update_item(**update, ConditionExpression="attribute_exists(PK)")
        self._batch_put([{**keys.invoice_number_key(invoice.creditor_id, invoice.number),
                          "debtor_id": invoice.debtor_id} for invoice in invoices])

    def update_invoice(self, invoice: Invoice) -> Invoice:
        """Write `invoice` if nobody changed it since it was read (its `version`); VersionConflict otherwise."""
        try:
            self._client.transact_write_items(TransactItems=self.invoice_write_actions([invoice]))
        except self._client.exceptions.TransactionCanceledException as exc:
            raise VersionConflict(invoice.number) from exc
        return _replace_version(invoice, invoice.version + 1)

    def invoice_write_actions(self, invoices: list[Invoice]) -> list[dict[str, Any]]:
        """TransactWriteItems actions writing `invoices`: each only if its version is still the one read,
        and one update per debtor keeping their open-invoice summary equal to the invoices.

        Every write of an existing invoice goes through here, so the summary never drifts from
        the items. The version-checked puts come first, in the order given.
        """
        actions = [self._versioned_invoice_put(invoice) for invoice in invoices]
        by_debtor: dict[tuple[str, str], list[Invoice]] = {}
        for invoice in invoices:
            by_debtor.setdefault((invoice.creditor_id, invoice.debtor_id), []).append(
                _replace_version(invoice, invoice.version + 1))
        for (creditor_id, debtor_id), written in by_debtor.items():
            actions.append({"Update": self._summary_update(creditor_id, debtor_id, written)})
        return actions

    def _summary_update(self, creditor_id: str, debtor_id: str, invoices: list[Invoice]) -> dict[str, Any]:
        """SET the entries of open invoices and REMOVE those of settled ones, in the debtor's summary."""
        names: dict[str, str] = {"#open": OPEN_INVOICES}
        values: dict[str, Any] = {}
        sets: list[str] = []
        removes: list[str] = []
        for n, invoice in enumerate(invoices):
            names[f"#i{n}"] = invoice.number
            if invoice.is_settled():
                removes.append(f"#open.#i{n}")
            else:
                values[f":i{n}"] = summary_entry(invoice)
                sets.append(f"#open.#i{n} = :i{n}")
        expression = " ".join(part for part in (
            f"SET {', '.join(sets)}" if sets else "", f"REMOVE {', '.join(removes)}" if removes else "") if part)
        update: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": _to_dynamo(keys.debtor_key(creditor_id, debtor_id)),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
        }
        if values:
            update["ExpressionAttributeValues"] = _to_dynamo(values)
        return update

    def due_invoices(self, creditor_id: str, day: date, counter: list[int] | None = None) -> Iterator[DueInvoice]:
        """AP2: invoices with an action planned on or before `day`, from the sparse index."""
        paginator = self._client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table_name,
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :pk AND GSI1SK <= :upto",
            ExpressionAttributeValues={
                ":pk": {"S": keys.next_action_pk(creditor_id)},
                ":upto": {"S": keys.next_action_upper_bound(day)},
            },
        ):
            if counter is not None:
                counter[0] += page.get("ScannedCount", 0)
            for raw in page.get("Items", []):
                item = _from_dynamo(raw)
                yield DueInvoice(item["debtor_id"], item["number"], date.fromisoformat(item["next_action_on"]))

    # --- contacts -------------------------------------------------------------------------------

    def reserve_contact(
        self, creditor_id: str, debtor_id: str, day: date, step: str, now: datetime, channel: str = "email"
    ) -> ContactRecord:
        """Claim the debtor's one contact of `day`; returns the record already there if it exists.

        A "pending" record means an earlier attempt claimed the day but its mail was not
        confirmed; the caller may send it. A "sent" record means the day's contact is done.
        """
        key = {"PK": keys.debtor_pk(creditor_id, debtor_id), "SK": keys.contact_sk(day)}
        try:
            self._client.put_item(
                TableName=self.table_name,
                Item=_to_dynamo(
                    {
                        **key,
                        "entity": "contact",
                        "creditor_id": creditor_id,
                        "debtor_id": debtor_id,
                        "business_date": day.isoformat(),
                        "status": "pending",
                        "step": step,
                        "channel": channel,
                        "reserved_at": now.isoformat(),
                    }
                ),
                ConditionExpression="attribute_not_exists(PK)",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            existing = _from_dynamo(
                self._client.get_item(TableName=self.table_name, Key=_to_dynamo(key), ConsistentRead=True)["Item"]
            )
            sending_at = existing.get("sending_at")
            return ContactRecord(creditor_id, debtor_id, day, existing["status"], existing["step"],
                                 existing.get("message_id"), existing.get("channel"),
                                 datetime.fromisoformat(sending_at) if sending_at else None)
        return ContactRecord(creditor_id, debtor_id, day, "pending", step, None, channel)

    def mark_sending(self, contact: ContactRecord, now: datetime, items: Iterable[dict[str, Any]] = ()) -> bool:
        """Mark the day's contact "sending" just before its mail goes to SES, with `items` the mail relies on
        (the record that makes its portal link open); False if another attempt holds or completed it."""
        actions: list[dict[str, Any]] = [{
            "Update": {
                "TableName": self.table_name,
                "Key": _to_dynamo({"PK": keys.debtor_pk(contact.creditor_id, contact.debtor_id),
                                   "SK": keys.contact_sk(contact.business_date)}),
                "UpdateExpression": "SET #s = :sending, sending_at = :t",
                "ConditionExpression": "#s = :pending",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": _to_dynamo({":sending": "sending", ":pending": "pending",
                                                         ":t": now.isoformat()}),
            }
        }]
        actions.extend({"Put": {"TableName": self.table_name, "Item": _to_dynamo(item)}} for item in items)
        try:
            self._client.transact_write_items(TransactItems=actions)
        except self._client.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if reasons[:1] == ["ConditionalCheckFailed"]:
                return False
            raise
        return True

    def release_sending(self, contact: ContactRecord) -> None:
        """Put a "sending" contact back to "pending": SES refused the mail, so a retry may send it."""
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key=_to_dynamo({"PK": keys.debtor_pk(contact.creditor_id, contact.debtor_id),
                                "SK": keys.contact_sk(contact.business_date)}),
                UpdateExpression="SET #s = :pending REMOVE sending_at",
                ConditionExpression="#s = :sending",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=_to_dynamo({":sending": "sending", ":pending": "pending"}),
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return  # already completed or released by another attempt

    def complete_contact(
        self,
        contact: ContactRecord,
        *,
        message_id: str,
        invoices: list[Invoice],
        listed: list[str],
        totals: dict[str, int],
        audit: dict[str, Any],
        now: datetime,
        task: dict[str, Any] | None = None,
        extra_items: Iterable[dict[str, Any]] = (),
    ) -> None:
        """In one transaction: the contact marked sent, the invoices moved on, the audit event added,
        the finance task the step calls for, if any, and `extra_items` (plain items put as they are,
        e.g. the record of the portal link the mail carried).

        Raises VersionConflict when an invoice changed since it was read (an import or a payment).
        """
        pk = keys.debtor_pk(contact.creditor_id, contact.debtor_id)
        actions: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": _to_dynamo({"PK": pk, "SK": keys.contact_sk(contact.business_date)}),
                    "UpdateExpression": "SET #s = :sent, message_id = :m, sent_at = :t, invoices = :inv, totals = :tot, "
                                        "document_keys = :docs",
                    "ConditionExpression": "#s IN (:pending, :sending)",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": _to_dynamo(
                        {
                            ":sent": "sent",
                            ":pending": "pending",
                            ":sending": "sending",
                            ":m": message_id,
                            ":t": now.isoformat(),
                            ":inv": listed,
                            ":tot": totals,
                            ":docs": audit.get("documents", []),
                        }
                    ),
                }
            },
            self._audit_put(contact.creditor_id, contact.debtor_id, audit, now),
        ]
        if task is not None:
            actions.append({"Put": {"TableName": self.table_name, "Item": _to_dynamo(task_item(task))}})
        actions.append({"Put": {"TableName": self.table_name, "Item": _to_dynamo({
            "PK": keys.journal_pk(contact.creditor_id, contact.business_date),
            "SK": keys.journal_sk(contact.business_date, contact.debtor_id),
            "entity": "journal",
            "creditor_id": contact.creditor_id,
            "debtor_id": contact.debtor_id,
            "business_date": contact.business_date.isoformat(),
            "step": audit.get("step"),
            "channel": audit.get("channel"),
            "message_id": message_id or None,
            "invoices": listed,
            "steps": audit.get("steps"),
            "totals": totals,
        })}})
        for item in extra_items:
            actions.append({"Put": {"TableName": self.table_name, "Item": _to_dynamo(item)}})
        first_invoice = len(actions)
        actions.extend(self.invoice_write_actions(invoices) if invoices else [])
        try:
            self._client.transact_write_items(TransactItems=actions)
        except self._client.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if "ConditionalCheckFailed" in reasons[first_invoice:]:
                raise VersionConflict(",".join(i.number for i in invoices)) from exc
            raise

    def claim_link_mail(self, creditor_id: str, debtor_id: str, window_start: datetime) -> bool:
        """Claim the debtor's one "new link" mail of this window; False if already claimed."""
        try:
            self._client.put_item(
                TableName=self.table_name,
                Item=_to_dynamo(
                    {
                        "PK": keys.debtor_pk(creditor_id, debtor_id),
                        "SK": keys.link_mail_sk(window_start),
                        "entity": "link_mail",
                        "at": window_start.isoformat(),
                    }
                ),
                ConditionExpression="attribute_not_exists(PK)",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def journal(self, creditor_id: str, start: date, end: date) -> list[dict[str, Any]]:
        """AP7: the creditor's contacts from `start` to `end`, oldest first (one Query per month)."""
        entries: list[dict[str, Any]] = []
        month = start.replace(day=1)
        while month <= end:
            entries.extend(self._query(
                KeyConditionExpression="PK = :pk AND SK BETWEEN :a AND :b",
                ExpressionAttributeValues={":pk": {"S": keys.journal_pk(creditor_id, month)},
                                           ":a": {"S": start.isoformat()}, ":b": {"S": f"{end.isoformat()}#\uffff"}},
            ))
            month = (month + timedelta(days=32)).replace(day=1)
        return entries

    def get_task(self, creditor_id: str, task_key: str) -> dict[str, Any] | None:
        response = self._client.get_item(TableName=self.table_name, ConsistentRead=True,
                                         Key=_to_dynamo({"PK": keys.tasks_pk(creditor_id), "SK": task_key}))
        return _from_dynamo(response["Item"]) if "Item" in response else None

    def close_task(self, creditor_id: str, task_key: str, outcome: dict[str, Any], invoices: list[Invoice],
                   audit: dict[str, Any], now: datetime) -> None:
        """In one transaction: the task closed with its outcome, the invoices it changes, the audit event.

        Raises VersionConflict when the task was closed meanwhile or an invoice changed.
        """
        actions: list[dict[str, Any]] = [{
            "Update": {
                "TableName": self.table_name,
                "Key": _to_dynamo({"PK": keys.tasks_pk(creditor_id), "SK": task_key}),
                "UpdateExpression": "SET #s = :done, outcome = :outcome, closed_at = :t",
                "ConditionExpression": "#s = :open",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": _to_dynamo({":done": "done", ":open": "open", ":outcome": outcome,
                                                         ":t": now.isoformat()}),
            }
        }, self._audit_put(creditor_id, audit["debtor_id"], audit, now)]
        actions.extend(self.invoice_write_actions(invoices) if invoices else [])
        try:
            self._client.transact_write_items(TransactItems=actions)
        except self._client.exceptions.TransactionCanceledException as exc:
            raise VersionConflict(task_key) from exc

    def open_tasks(self, creditor_id: str) -> list[dict[str, Any]]:
        """AP6: finance's open tasks (calls, registered letters, agency hand-offs), oldest first."""
        return [
            item for item in self._query(
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues={":pk": {"S": keys.tasks_pk(creditor_id)}},
            ) if item.get("status") == "open"
        ]

    def contacts_of(self, creditor_id: str, debtor_id: str) -> list[dict[str, Any]]:
        """Every contact record of a debtor, oldest first."""
        return list(
            self._query(
                KeyConditionExpression="PK = :pk AND begins_with(SK, :sk)",
                ExpressionAttributeValues={
                    ":pk": {"S": keys.debtor_pk(creditor_id, debtor_id)},
                    ":sk": {"S": "CONTACT#"},
                },
            )
        )

    def record_creditor_event(self, creditor_id: str, audit: dict[str, Any], now: datetime) -> None:
        """AC5: one audit event about many debtors at once (an import's chunk), chained like any other."""
        item = {"PK": keys.creditor_events_pk(creditor_id), "SK": keys.audit_sk(now, uuid.uuid4().hex[:12]),
                "entity": "audit", "creditor_id": creditor_id, "at": now.isoformat(), **audit}
        self._client.put_item(TableName=self.table_name, Item=_to_dynamo(item),
                              ConditionExpression="attribute_not_exists(PK)")

    def record_audits(self, creditor_id: str, events: list[tuple[str, dict[str, Any]]], now: datetime) -> None:
        """Append one event to each named debtor's audit trail, 25 a BatchWriteItem (fresh keys: never an overwrite)."""
        self._batch_put([audit_item(creditor_id, debtor_id, audit, now) for debtor_id, audit in events])

    def audit_of(self, creditor_id: str, debtor_id: str) -> list[dict[str, Any]]:
        """AP4: the audit trail of a debtor, oldest first."""
        return list(
            self._query(
                KeyConditionExpression="PK = :pk AND begins_with(SK, :sk)",
                ExpressionAttributeValues={
                    ":pk": {"S": keys.debtor_pk(creditor_id, debtor_id)},
                    ":sk": {"S": "AUDIT#"},
                },
            )
        )

    # --- plumbing -------------------------------------------------------------------------------

    def _audit_put(self, creditor_id: str, debtor_id: str, audit: dict[str, Any], now: datetime) -> dict[str, Any]:
        """A transaction item appending one event to the debtor's audit trail (append-only: never overwritten)."""
        return {"Put": {"TableName": self.table_name, "Item": _to_dynamo(audit_item(creditor_id, debtor_id, audit, now)),
                        "ConditionExpression": "attribute_not_exists(PK)"}}

    def _versioned_invoice_put(self, invoice: Invoice) -> dict[str, Any]:
        """A transaction item writing `invoice` only if nobody changed it since it was read."""
        return {"Put": {"TableName": self.table_name,
                        "Item": _to_dynamo(invoice_item(_replace_version(invoice, invoice.version + 1))),
                        "ConditionExpression": "version = :v",
                        "ExpressionAttributeValues": {":v": {"N": str(invoice.version)}}}}

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        paginator = self._client.get_paginator("query")
        for page in paginator.paginate(TableName=self.table_name, **kwargs):
            for item in page.get("Items", []):
                yield _from_dynamo(item)

    def _batch_get(self, key_list: list[dict[str, str]]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for start in range(0, len(key_list), BATCH_GET_LIMIT):
            pending: dict[str, Any] = {
                self.table_name: {"Keys": [_to_dynamo(k) for k in key_list[start : start + BATCH_GET_LIMIT]]}
            }
            attempt = 0
            while pending:
                response = self._client.batch_get_item(RequestItems=pending)
                found.extend(_from_dynamo(item) for item in response.get("Responses", {}).get(self.table_name, []))
                pending = response.get("UnprocessedKeys") or {}
                attempt = _backoff(attempt) if pending else attempt
        return found

    def _batch_put(self, items: list[dict[str, Any]]) -> None:
        for start in range(0, len(items), BATCH_WRITE_LIMIT):
            requests = [{"PutRequest": {"Item": _to_dynamo(i)}} for i in items[start : start + BATCH_WRITE_LIMIT]]
            pending: dict[str, Any] = {self.table_name: requests}
            attempt = 0
            while pending:
                response = self._client.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}
                attempt = _backoff(attempt) if pending else attempt


def _backoff(attempt: int) -> int:
    """Sleep before retrying unprocessed batch items (DynamoDB asks for exponential backoff)."""
    if attempt >= 8:
        raise RuntimeError("DynamoDB kept returning unprocessed items after 8 retries")
    time.sleep(min(0.05 * 2**attempt, 2.0))
    return attempt + 1


def _replace_version(invoice: Invoice, version: int) -> Invoice:
    return replace(invoice, version=version)
